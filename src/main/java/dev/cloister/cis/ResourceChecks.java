package dev.cloister.cis;

import java.util.Locale;

import static dev.cloister.cis.CisItem.CGROUP;
import static dev.cloister.cis.CisItem.CPU_PRIORITY;
import static dev.cloister.cis.CisItem.MEMORY_LIMIT;
import static dev.cloister.cis.CisItem.PIDS_LIMIT;
import static dev.cloister.cis.CisItem.RESTART_POLICY;
import static dev.cloister.cis.CisItem.ULIMIT;

/** Cgroup limits, ulimits and restarts (5.11, 5.12, 5.15, 5.19, 5.25, 5.29). */
final class ResourceChecks {

    private static final int MAX_RESTARTS = 5;
    private static final double NANOS_PER_CPU = 1e9;

    private ResourceChecks() {
    }

    static CisResult memory(ContainerFacts f) {
        ContainerFacts.Resources r = f.resources();
        String evidence = "HostConfig.Memory=" + Quote.bytes(r.memory())
                + ", MemorySwap=" + Quote.bytes(r.memorySwap());
        return r.memory() > 0 ? MEMORY_LIMIT.pass(evidence + (r.memorySwap() == r.memory() ? " (no swap)" : ""))
                : MEMORY_LIMIT.fail(evidence + ": no memory limit");
    }

    static CisResult cpu(ContainerFacts f) {
        ContainerFacts.Resources r = f.resources();
        String evidence = "HostConfig.NanoCpus=" + r.nanoCpus() + ", CpuQuota=" + r.cpuQuota()
                + ", CpuShares=" + r.cpuShares();
        if (r.nanoCpus() > 0) {
            // The benchmark's audit reads CpuShares, a relative weight; NanoCpus is a hard CFS quota, a stronger bound.
            return CPU_PRIORITY.pass(evidence + ": capped at "
                    + String.format(Locale.ROOT, "%.2f", r.nanoCpus() / NANOS_PER_CPU) + " CPUs by a hard quota"
                    + (r.cpuShares() == 0 ? " (the relative weight CpuShares stays at the engine's default, which is"
                    + " what the benchmark's audit command reads)" : ""));
        }
        if (r.cpuQuota() > 0 || (r.cpuShares() > 0 && r.cpuShares() != 1024)) {
            return CPU_PRIORITY.pass(evidence);
        }
        return CPU_PRIORITY.fail(evidence + ": neither a CPU quota nor a CPU weight other than the default is set");
    }

    static CisResult restartPolicy(ContainerFacts f) {
        ContainerFacts.RestartPolicy p = f.restartPolicy();
        String evidence = "HostConfig.RestartPolicy=" + Quote.text(p.name())
                + ", MaximumRetryCount=" + p.maximumRetryCount();
        return switch (p.name()) {
            case "", "no" -> RESTART_POLICY.pass(evidence + ": never restarted, so never more than 5 times (a job"
                    + " runs once; Cloister records its end instead)");
            case "on-failure" -> p.maximumRetryCount() > 0 && p.maximumRetryCount() <= MAX_RESTARTS
                    ? RESTART_POLICY.pass(evidence)
                    : RESTART_POLICY.fail(evidence + (p.maximumRetryCount() <= 0 ? ": 0 means restart without bound"
                    : ": more than 5 restarts"));
            default -> RESTART_POLICY.fail(evidence + ": restarts without bound");
        };
    }

    static CisResult ulimits(ContainerFacts f) {
        if (f.ulimits().isEmpty()) {
            return ULIMIT.pass("HostConfig.Ulimits=[]: the engine's defaults apply; no job plan overrides them");
        }
        return ULIMIT.fail("HostConfig.Ulimits=" + Quote.list(f.ulimits()) + ": overridden, though a Cloister plan"
                + " sets no ulimit (bounds come from cgroups: memory, CPU, PIDs)");
    }

    static CisResult cgroup(ContainerFacts f) {
        String parent = f.resources().cgroupParent();
        return parent.isEmpty() ? CGROUP.pass("HostConfig.CgroupParent='': the engine's default parent cgroup")
                : CGROUP.fail("HostConfig.CgroupParent=" + parent + ": not the engine's default, and Cloister"
                + " sets none; confirm who placed it there");
    }

    static CisResult pids(ContainerFacts f) {
        Long limit = f.resources().pidsLimit();
        return limit != null && limit > 0 ? PIDS_LIMIT.pass("HostConfig.PidsLimit=" + limit)
                : PIDS_LIMIT.fail("HostConfig.PidsLimit=" + limit + ": unlimited");
    }
}
