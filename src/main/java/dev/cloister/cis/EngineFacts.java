package dev.cloister.cis;

import java.util.List;
import java.util.Locale;

/**
 * What {@code docker info} says about the engine that runs a container, as far as section 5 needs it.
 *
 * @param securityOptions the engine's {@code SecurityOptions}, e.g. {@code name=seccomp,profile=default}: the security
 *                        modules the engine found in the kernel and uses
 * @param swarmState      {@code Swarm.LocalNodeState}: {@code inactive}, {@code active}, ... or empty if not reported
 */
public record EngineFacts(String serverVersion, String kernelVersion, List<String> securityOptions, String swarmState) {

    public EngineFacts {
        serverVersion = serverVersion == null ? "" : serverVersion;
        kernelVersion = kernelVersion == null ? "" : kernelVersion;
        securityOptions = securityOptions == null ? List.of() : List.copyOf(securityOptions);
        swarmState = swarmState == null ? "" : swarmState;
    }

    /**
     * Whether the engine reports security module {@code name} ({@code apparmor}, {@code selinux}, {@code seccomp},
     * {@code userns}, {@code rootless}), in the {@code name=<module>,...} form of API 1.26+ or the bare older form.
     */
    public boolean hasSecurityOption(String name) {
        String wanted = name.toLowerCase(Locale.ROOT);
        for (String option : securityOptions) {
            String o = option.toLowerCase(Locale.ROOT);
            if (o.equals(wanted) || o.equals("name=" + wanted) || o.startsWith("name=" + wanted + ",")) {
                return true;
            }
        }
        return false;
    }

    /** The value of {@code key} in the engine's option for module {@code name}, e.g. seccomp's {@code profile}. */
    String securityOptionValue(String name, String key) {
        for (String option : securityOptions) {
            List<String> parts = List.of(option.split(","));
            if (!parts.get(0).equalsIgnoreCase("name=" + name)) {
                continue;
            }
            for (String part : parts) {
                if (part.startsWith(key + "=")) {
                    return part.substring(key.length() + 1);
                }
            }
        }
        return "";
    }
}
