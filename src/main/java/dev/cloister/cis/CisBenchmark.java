package dev.cloister.cis;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Judges one Cloister job container against {@link CisItem#BENCHMARK} from its inspected facts alone. A job is a
 * batch process with no network and no ports; where the benchmark says "if needed", the checks judge against what
 * a job needs.
 */
public final class CisBenchmark {

    /** Every item of section 5, in the benchmark's order, each with the status and the inspected values it rests on. */
    public List<CisResult> evaluate(ContainerFacts facts) {
        Objects.requireNonNull(facts, "facts");
        List<CisResult> results = new ArrayList<>(CisItem.values().length);
        for (CisItem item : CisItem.values()) {
            CisResult result = check(item, facts);
            if (!result.id().equals(item.id())) {
                throw new IllegalStateException("check for CIS " + item.id() + " answered for " + result.id());
            }
            results.add(result);
        }
        return List.copyOf(results);
    }

    private static CisResult check(CisItem item, ContainerFacts f) {
        // A switch expression over the enum: the compiler refuses an item without a check.
        return switch (item) {
            case SWARM_MODE -> OperationChecks.swarm(f);
            case APPARMOR -> ConfinementChecks.appArmor(f);
            case SELINUX -> ConfinementChecks.selinux(f);
            case CAPABILITIES -> ConfinementChecks.capabilities(f);
            case PRIVILEGED -> ConfinementChecks.privileged(f);
            case SENSITIVE_HOST_DIRECTORIES -> FilesystemChecks.sensitiveHostDirectories(f);
            case SSHD -> OperationChecks.sshd(f);
            case PRIVILEGED_PORTS -> NamespaceChecks.privilegedPorts(f);
            case ONLY_NEEDED_PORTS -> NamespaceChecks.onlyNeededPorts(f);
            case HOST_NETWORK_NAMESPACE -> NamespaceChecks.hostNetwork(f);
            case MEMORY_LIMIT -> ResourceChecks.memory(f);
            case CPU_PRIORITY -> ResourceChecks.cpu(f);
            case READ_ONLY_ROOT -> FilesystemChecks.readOnlyRoot(f);
            case HOST_INTERFACE -> NamespaceChecks.hostInterface(f);
            case RESTART_POLICY -> ResourceChecks.restartPolicy(f);
            case HOST_PID_NAMESPACE -> NamespaceChecks.hostPid(f);
            case HOST_IPC_NAMESPACE -> NamespaceChecks.hostIpc(f);
            case HOST_DEVICES -> FilesystemChecks.hostDevices(f);
            case ULIMIT -> ResourceChecks.ulimits(f);
            case MOUNT_PROPAGATION -> FilesystemChecks.mountPropagation(f);
            case HOST_UTS_NAMESPACE -> NamespaceChecks.hostUts(f);
            case SECCOMP -> ConfinementChecks.seccomp(f);
            case EXEC_PRIVILEGED -> ConfinementChecks.execPrivileged(f);
            case EXEC_USER_ROOT -> ConfinementChecks.execUserRoot(f);
            case CGROUP -> ResourceChecks.cgroup(f);
            case NO_NEW_PRIVILEGES -> ConfinementChecks.noNewPrivileges(f);
            case HEALTH_CHECK -> OperationChecks.healthCheck(f);
            case LATEST_IMAGE -> OperationChecks.latestImage(f);
            case PIDS_LIMIT -> ResourceChecks.pids(f);
            case DEFAULT_BRIDGE -> NamespaceChecks.defaultBridge(f);
            case HOST_USER_NAMESPACE -> NamespaceChecks.hostUser(f);
            case DOCKER_SOCKET -> FilesystemChecks.dockerSocket(f);
        };
    }
}
