package dev.cloister.cis;

/**
 * The recommendations of CIS Docker Benchmark v1.6.0, section 5 "Container Runtime Configuration", with their ids and
 * titles as the benchmark writes them. (v1.6.0 moved "swarm mode" to 5.1, so AppArmor is 5.2 and the Docker socket
 * 5.32; v1.5.0 and older number the same items one lower.)
 */
public enum CisItem {
    SWARM_MODE("5.1", "Ensure swarm mode is not Enabled, if not needed"),
    APPARMOR("5.2", "Ensure that, if applicable, an AppArmor Profile is enabled"),
    SELINUX("5.3", "Ensure that, if applicable, SELinux security options are set"),
    CAPABILITIES("5.4", "Ensure that Linux kernel capabilities are restricted within containers"),
    PRIVILEGED("5.5", "Ensure that privileged containers are not used"),
    SENSITIVE_HOST_DIRECTORIES("5.6", "Ensure sensitive host system directories are not mounted on containers"),
    SSHD("5.7", "Ensure sshd is not run within containers"),
    PRIVILEGED_PORTS("5.8", "Ensure privileged ports are not mapped within containers"),
    ONLY_NEEDED_PORTS("5.9", "Ensure that only needed ports are open on the container"),
    HOST_NETWORK_NAMESPACE("5.10", "Ensure that the host's network namespace is not shared"),
    MEMORY_LIMIT("5.11", "Ensure that the memory usage for containers is limited"),
    CPU_PRIORITY("5.12", "Ensure that CPU priority is set appropriately on containers"),
    READ_ONLY_ROOT("5.13", "Ensure that the container's root filesystem is mounted as read only"),
    HOST_INTERFACE("5.14", "Ensure that incoming container traffic is bound to a specific host interface"),
    RESTART_POLICY("5.15", "Ensure that the 'on-failure' container restart policy is set to '5'"),
    HOST_PID_NAMESPACE("5.16", "Ensure that the host's process namespace is not shared"),
    HOST_IPC_NAMESPACE("5.17", "Ensure that the host's IPC namespace is not shared"),
    HOST_DEVICES("5.18", "Ensure that host devices are not directly exposed to containers"),
    ULIMIT("5.19", "Ensure that the default ulimit is overwritten at runtime if needed"),
    MOUNT_PROPAGATION("5.20", "Ensure mount propagation mode is not set to shared"),
    HOST_UTS_NAMESPACE("5.21", "Ensure that the host's UTS namespace is not shared"),
    SECCOMP("5.22", "Ensure the default seccomp profile is not Disabled"),
    EXEC_PRIVILEGED("5.23", "Ensure that docker exec commands are not used with the privileged option"),
    EXEC_USER_ROOT("5.24", "Ensure that docker exec commands are not used with the user=root option"),
    CGROUP("5.25", "Ensure that cgroup usage is confirmed"),
    NO_NEW_PRIVILEGES("5.26", "Ensure that the container is restricted from acquiring additional privileges"),
    HEALTH_CHECK("5.27", "Ensure that container health is checked at runtime"),
    LATEST_IMAGE("5.28", "Ensure that Docker commands always make use of the latest version of their image"),
    PIDS_LIMIT("5.29", "Ensure that the PIDs cgroup limit is used"),
    DEFAULT_BRIDGE("5.30", "Ensure that Docker's default bridge 'docker0' is not used"),
    HOST_USER_NAMESPACE("5.31", "Ensure that the host's user namespaces are not shared"),
    DOCKER_SOCKET("5.32", "Ensure that the Docker socket is not mounted inside any containers");

    /** The benchmark and section these items come from, for reports. */
    public static final String BENCHMARK = "CIS Docker Benchmark v1.6.0, section 5 (Container Runtime Configuration)";

    private final String id;
    private final String title;

    CisItem(String id, String title) {
        this.id = id;
        this.title = title;
    }

    public String id() {
        return id;
    }

    public String title() {
        return title;
    }

    CisResult pass(String evidence) {
        return result(CisResult.Status.PASS, evidence);
    }

    CisResult fail(String evidence) {
        return result(CisResult.Status.FAIL, evidence);
    }

    CisResult notApplicable(String evidence) {
        return result(CisResult.Status.NOT_APPLICABLE, evidence);
    }

    CisResult cannotPassOnHost(String evidence) {
        return result(CisResult.Status.CANNOT_PASS_ON_HOST, evidence);
    }

    private CisResult result(CisResult.Status status, String evidence) {
        return new CisResult(id, title, status, evidence);
    }
}
