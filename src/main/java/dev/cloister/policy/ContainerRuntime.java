package dev.cloister.policy;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The OCI runtime a job's container runs under: runc (kernel namespaces) or runsc (gVisor's user-space kernel). */
public enum ContainerRuntime {
    RUNC("runc"),
    RUNSC("runsc");

    private final String engineName;

    ContainerRuntime(String engineName) {
        this.engineName = engineName;
    }

    /** The runtime name registered with the Docker engine. */
    public String engineName() {
        return engineName;
    }

    public static ContainerRuntime parse(String text) {
        for (ContainerRuntime r : values()) {
            if (r.engineName.equals(text.toLowerCase(Locale.ROOT))) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown runtime '" + text + "': use one of "
                + Arrays.stream(values()).map(ContainerRuntime::engineName).collect(Collectors.joining(", ")));
    }
}
