package dev.cloister.sandbox;

import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.model.BindOptions;
import com.github.dockerjava.api.model.BindPropagation;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import dev.cloister.policy.ContainerPlan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Maps a {@link ContainerPlan} onto Docker's create-container request, field by field, adding nothing that the
 * plan does not say. Pure: unit-testable without an engine.
 */
final class ContainerSpecMapper {

    static final String NAME_PREFIX = "cloister-";
    private static final long NANOS_PER_CPU = 1_000_000_000L;

    private ContainerSpecMapper() {
    }

    static String containerName(ContainerPlan plan) {
        return NAME_PREFIX + plan.jobId();
    }

    /**
     * Fills {@code cmd} (created for the resolved image, by ID or {@code repo@digest}) from the plan.
     *
     * @param hostSource the host path the engine binds for each plan mount (see {@link JobWorkspace})
     */
    static CreateContainerCmd apply(CreateContainerCmd cmd, ContainerPlan plan, Function<ContainerPlan.Mount, Path> hostSource) {
        List<String> env = new ArrayList<>(plan.env().size());
        plan.env().forEach((k, v) -> env.add(k + "=" + v));
        return cmd.withName(containerName(plan))
                // An empty entrypoint resets the image's, so the process is exactly the plan's argv.
                .withEntrypoint(List.of())
                .withCmd(plan.argv())
                .withEnv(env)
                .withUser(plan.user().toString())
                .withLabels(plan.labels())
                .withStopTimeout(stopTimeoutSeconds(plan))
                .withAttachStdin(false).withStdinOpen(false).withTty(false)
                .withHostConfig(hostConfig(plan, hostSource));
    }

    static HostConfig hostConfig(ContainerPlan plan, Function<ContainerPlan.Mount, Path> hostSource) {
        if (!plan.readOnlyRootfs() || !plan.noNewPrivileges() || !plan.dropAllCapabilities() || !plan.init()
                || !"none".equals(plan.networkMode())) {
            throw new IllegalArgumentException("plan relaxes a constant that this runtime does not relax");
        }
        long memory = plan.limits().memory().bytes();
        return HostConfig.newHostConfig()
                .withRuntime(plan.runtime().engineName())
                .withNetworkMode(plan.networkMode())
                // Only ALL: listing every enum value fails on 20.10, which does not know CAP_BPF and friends.
                .withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges", "seccomp=" + plan.seccomp().json()))
                .withReadonlyRootfs(true)
                .withInit(true)
                .withPidsLimit(plan.limits().pids())
                // Equal memory and memory+swap: no swap, and an overrun is an OOM kill that inspect reports.
                .withMemory(memory)
                .withMemorySwap(memory)
                .withNanoCPUs(Math.round(plan.limits().cpus() * NANOS_PER_CPU))
                .withCpuShares(plan.cpuShares())
                .withShmSize(plan.shmSize().bytes())
                .withTmpFs(tmpfs(plan))
                .withMounts(mounts(plan, hostSource))
                .withLogConfig(new LogConfig(LogConfig.LoggingType.JSON_FILE, Map.of(
                        "max-size", Long.toString(plan.logSize().bytes()),
                        // One file, whatever the daemon's defaults: the engine's own copy stays within the cap.
                        // Cloister's log is read from an attach, which rotation cannot cut (see JobLog).
                        "max-file", "1")))
                .withPrivileged(false)
                .withPublishAllPorts(false);
    }

    static Map<String, String> tmpfs(ContainerPlan plan) {
        Map<String, String> tmpfs = new LinkedHashMap<>();
        for (ContainerPlan.Tmpfs t : plan.tmpfs()) {
            if (t.size().bytes() <= 0) {
                // tmpfs reads size=0 as "no limit".
                throw new IllegalArgumentException("tmpfs " + t.target() + " needs a positive size");
            }
            String options = t.options() == null || t.options().isBlank() ? "rw,nosuid,nodev,noexec" : t.options();
            if (options.contains("size=")) {
                throw new IllegalArgumentException("tmpfs " + t.target() + " sets its size twice");
            }
            tmpfs.put(t.target(), options + ",size=" + t.size().bytes());
        }
        return tmpfs;
    }

    /**
     * Binds without Docker's read-only option, on purpose: runc 1.1 applies "ro" by remounting with MS_RDONLY
     * alone, which clears nosuid/nodev/noexec. The host source is a mount that already carries every flag of the
     * plan, ro included, and a bind inherits them (checked on the host before create and in the container after
     * start).
     */
    static List<Mount> mounts(ContainerPlan plan, Function<ContainerPlan.Mount, Path> hostSource) {
        List<Mount> mounts = new ArrayList<>();
        for (ContainerPlan.Mount m : plan.mounts()) {
            Path source = hostSource.apply(m);
            if (source == null) {
                throw new IllegalArgumentException("no host source prepared for " + m.target());
            }
            mounts.add(new Mount()
                    .withType(MountType.BIND)
                    .withSource(source.toString())
                    .withTarget(m.target())
                    .withReadOnly(false)
                    .withBindOptions(new BindOptions().withPropagation(BindPropagation.R_PRIVATE)));
        }
        return mounts;
    }

    private static int stopTimeoutSeconds(ContainerPlan plan) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, plan.stopGrace().toSeconds()));
    }
}
