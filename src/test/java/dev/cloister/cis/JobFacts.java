package dev.cloister.cis;

import java.util.ArrayList;
import java.util.List;

/**
 * Hand-built facts of a container as Cloister creates it for a {@code restricted} job on this kind of host (Docker
 * 20.10, seccomp but no AppArmor, no swarm); each field can be changed before {@link #build()}.
 */
final class JobFacts {

    static final String IMAGE_ID = "sha256:c576812a51595db377aa01a95d7569f4b590bc5ef371e91aeb7397ced4a52709";
    static final String PROFILE = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}";

    String id = "5f0c1e2d3b4a59687766554433221100ffeeddccbbaa99887766554433221100";
    String name = "cloister-j-0123";
    String image = IMAGE_ID;
    String imageId = IMAGE_ID;
    String runtime = "runc";
    List<String> command = List.of("python3", "/opt/ml/code/train.py", "--epochs", "3");
    boolean privileged = false;
    List<String> capAdd = List.of();
    List<String> capDrop = List.of("ALL");
    List<String> securityOpt = List.of("no-new-privileges", "seccomp=" + PROFILE);
    String appArmorProfile = "";
    String processLabel = "";
    String network = "none";
    String pid = "";
    String ipc = "private";
    String uts = "";
    String userns = "";
    List<ContainerFacts.Mount> mounts = new ArrayList<>(List.of(
            bind("/var/lib/cloister/work/j-0123/mounts/0-dataset", "/data", true),
            bind("/var/lib/cloister/work/j-0123/mounts/1-config", "/opt/ml/input/config", true),
            bind("/var/lib/cloister/work/j-0123/mounts/2-output", "/out", true)));
    List<ContainerFacts.PortBinding> ports = new ArrayList<>();
    boolean publishAllPorts = false;
    long memory = 2L << 30;
    long memorySwap = 2L << 30;
    long nanoCpus = 1_000_000_000L;
    long cpuShares = 0;
    long cpuQuota = 0;
    Long pidsLimit = 256L;
    String cgroupParent = "";
    boolean readOnlyRootfs = true;
    String restart = "no";
    int maxRetries = 0;
    List<String> devices = List.of();
    List<String> ulimits = List.of();
    List<String> healthcheck = List.of();
    List<String> execIds = List.of();
    List<String> networks = List.of("none");
    List<String> engineSecurityOptions = List.of("name=seccomp,profile=default");
    String swarm = "inactive";

    static ContainerFacts.Mount bind(String source, String destination, boolean readWrite) {
        // Cloister binds read-write on purpose: the host source mount already carries ro/nosuid/nodev/noexec.
        return new ContainerFacts.Mount("bind", source, destination, readWrite, "rprivate");
    }

    ContainerFacts build() {
        return new ContainerFacts(id, name, image, imageId, runtime, command, privileged, capAdd, capDrop, securityOpt,
                appArmorProfile, processLabel, new ContainerFacts.Namespaces(network, pid, ipc, uts, userns), mounts, ports,
                publishAllPorts, new ContainerFacts.Resources(memory, memorySwap, nanoCpus, cpuShares, cpuQuota, pidsLimit,
                cgroupParent), readOnlyRootfs, new ContainerFacts.RestartPolicy(restart, maxRetries), devices, ulimits,
                healthcheck, execIds, networks, new EngineFacts("20.10.24+dfsg1", "6.18.0", engineSecurityOptions, swarm));
    }
}
