package dev.cloister.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything security-relevant about one job's container, decided by {@link Admission} and only executed by a
 * runtime. A runtime maps each field to its API and fails on a field it cannot honour; it adds no policy of its own.
 *
 * @param workDir         host directory owned by Cloister for this job (hyperparameters, staged output)
 * @param hyperparameters exact JSON written read-only to {@code /opt/ml/input/config/hyperparameters.json}
 */
public record ContainerPlan(
        String jobId,
        ImageRef image,
        List<String> argv,
        Map<String, String> env,
        UserId user,
        ContainerRuntime runtime,
        SeccompProfile seccomp,
        List<Mount> mounts,
        List<Tmpfs> tmpfs,
        ByteSize shmSize,
        Limits limits,
        Duration stopGrace,
        ByteSize logSize,
        ByteSize outputSize,
        String hyperparameters,
        Path workDir,
        Map<String, String> labels) {

    public static final String OUTPUT_DIR = "/out";
    public static final String DATA_DIR = "/data";
    public static final String CONFIG_DIR = "/opt/ml/input/config";
    /** A federated site's input: the host's current global weights, read-only. */
    public static final String INPUT_DIR = "/in";

    public ContainerPlan {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        mounts = List.copyOf(mounts);
        tmpfs = List.copyOf(tmpfs);
        labels = Map.copyOf(labels);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("a plan needs a command");
        }
    }

    /** Constants that no policy can change; listed so that reports and tests can show them. */
    public boolean readOnlyRootfs() {
        return true;
    }

    public String networkMode() {
        return "none";
    }

    public boolean noNewPrivileges() {
        return true;
    }

    public boolean dropAllCapabilities() {
        return true;
    }

    public boolean init() {
        return true;
    }

    /**
     * The job's CPU weight when the CPU is contended: a quarter of the engine's default (1024), so that the service
     * (and the rest of the host) still gets the CPU it needs while jobs train; a job alone on an idle host still runs
     * at its full {@code limits.cpus}, which stays the hard cap.
     */
    public int cpuShares() {
        return 256;
    }

    /** What a host path is for; each kind is mounted at a fixed target. */
    public enum MountKind { DATASET, OUTPUT, CONFIG, INPUT }

    /** A bind mount from the host, with the flags the runtime must apply. */
    public record Mount(MountKind kind, Path source, String target, boolean readOnly,
                        boolean nosuid, boolean nodev, boolean noexec) {
    }

    /** A memory-backed scratch mount with a hard size. */
    public record Tmpfs(String target, ByteSize size, String options) {
    }
}
