package dev.cloister.cis;

import java.util.List;

/**
 * What {@code docker inspect} says about one container, as far as CIS section 5 needs it, plus its engine's facts.
 * Plain data: built from the engine by {@link InspectFacts}, by hand in tests.
 *
 * @param image           {@code Config.Image}: the reference the container was created from
 * @param imageId         {@code Image}: the image ID the engine resolved that reference to
 * @param command         {@code Path} followed by {@code Args}: the container's main process
 * @param securityOpt     {@code HostConfig.SecurityOpt}, verbatim (a seccomp option carries the profile's JSON)
 * @param appArmorProfile {@code AppArmorProfile}; null when inspect did not report the field
 * @param devices         {@code HostConfig.Devices}, {@code DeviceCgroupRules} and {@code DeviceRequests}, as text
 * @param ulimits         {@code HostConfig.Ulimits} as {@code name=soft:hard}
 * @param healthcheck     {@code Config.Healthcheck.Test}; empty when the container has none
 * @param execIds         {@code ExecIDs}: exec sessions the engine still knows of
 * @param networks        names of the networks in {@code NetworkSettings.Networks}
 */
public record ContainerFacts(
        String id,
        String name,
        String image,
        String imageId,
        String runtime,
        List<String> command,
        boolean privileged,
        List<String> capAdd,
        List<String> capDrop,
        List<String> securityOpt,
        String appArmorProfile,
        String processLabel,
        Namespaces namespaces,
        List<Mount> mounts,
        List<PortBinding> portBindings,
        boolean publishAllPorts,
        Resources resources,
        boolean readOnlyRootfs,
        RestartPolicy restartPolicy,
        List<String> devices,
        List<String> ulimits,
        List<String> healthcheck,
        List<String> execIds,
        List<String> networks,
        EngineFacts engine) {

    public ContainerFacts {
        id = text(id);
        name = text(name);
        image = text(image);
        imageId = text(imageId);
        runtime = text(runtime);
        processLabel = text(processLabel);
        command = list(command);
        capAdd = list(capAdd);
        capDrop = list(capDrop);
        securityOpt = list(securityOpt);
        mounts = list(mounts);
        portBindings = list(portBindings);
        devices = list(devices);
        ulimits = list(ulimits);
        healthcheck = list(healthcheck);
        execIds = list(execIds);
        networks = list(networks);
        if (namespaces == null || resources == null || restartPolicy == null || engine == null) {
            throw new IllegalArgumentException("container facts need namespaces, resources, a restart policy and"
                    + " the engine's facts");
        }
    }

    /**
     * The namespace modes of {@code HostConfig}: {@code NetworkMode}, {@code PidMode}, {@code IpcMode},
     * {@code UTSMode}, {@code UsernsMode}; {@code host} means shared with the host, empty means the engine default.
     */
    public record Namespaces(String network, String pid, String ipc, String uts, String userns) {
        public Namespaces {
            network = text(network);
            pid = text(pid);
            ipc = text(ipc);
            uts = text(uts);
            userns = text(userns);
        }
    }

    /**
     * The cgroup settings of {@code HostConfig}; zero means unset (the engine's default), {@code pidsLimit} null,
     * zero or negative means unlimited.
     */
    public record Resources(long memory, long memorySwap, long nanoCpus, long cpuShares, long cpuQuota, Long pidsLimit,
                            String cgroupParent) {
        public Resources {
            cgroupParent = text(cgroupParent);
        }
    }

    /**
     * One entry of inspect's {@code Mounts}: {@code Type}, {@code Source} (host path), {@code Destination},
     * {@code RW} and {@code Propagation} (empty when not reported).
     */
    public record Mount(String type, String source, String destination, boolean readWrite, String propagation) {
        public Mount {
            type = text(type);
            source = text(source);
            destination = text(destination);
            propagation = text(propagation);
        }
    }

    /**
     * One entry of {@code HostConfig.PortBindings}: container port ({@code 80/tcp}), host IP (empty: every
     * interface) and host port (empty: one the engine picks).
     */
    public record PortBinding(String containerPort, String hostIp, String hostPort) {
        public PortBinding {
            containerPort = text(containerPort);
            hostIp = text(hostIp);
            hostPort = text(hostPort);
        }
    }

    /** {@code HostConfig.RestartPolicy}: {@code Name} (empty or {@code no} means never) and its retry bound. */
    public record RestartPolicy(String name, int maximumRetryCount) {
        public RestartPolicy {
            name = text(name);
        }
    }

    private static String text(String s) {
        return s == null ? "" : s;
    }

    private static <T> List<T> list(List<T> l) {
        return l == null ? List.of() : List.copyOf(l);
    }
}
