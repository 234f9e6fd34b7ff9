package dev.cloister.review;

import dev.cloister.cis.CisResult;
import dev.cloister.markdown.MarkdownTable;
import dev.cloister.policy.SeccompSummary;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a reviewer signs off for one policy: the container settings it produces, its seccomp profile summarised and
 * compared with Docker's default, the CIS section-5 results of the latest job admitted under it, and the latest probe
 * results with their date.
 *
 * @param generatedAt  when the report was made
 * @param settings     the effective container settings
 * @param seccomp      the profile summarised
 * @param versusDocker how the profile differs from Docker's default (added: allowed here, not there)
 * @param cis          the latest CIS results, or null when no job has run under the policy
 * @param probes       the latest probe evidence, or null when the suite never ran under the policy
 * @param probeRunning a probe run in progress, or null
 */
public record PolicyReport(Instant generatedAt, PolicySettings settings, SeccompSummary seccomp,
                           SeccompSummary.Difference versusDocker, Cis cis, ProbeEvidence probes,
                           ProbeSuite.Running probeRunning) {

    /** CIS results of one job's container, with the job and when its container was configured. */
    public record Cis(String job, Instant submittedAt, List<CisResult> results) {
        public Cis {
            results = List.copyOf(results);
        }

        public Map<CisResult.Status, Long> counts() {
            return results.stream().collect(Collectors.groupingBy(CisResult::status, java.util.TreeMap::new,
                    Collectors.counting()));
        }
    }

    /** The report as Markdown for sign-off. */
    public String markdown() {
        PolicySettings s = settings;
        StringBuilder md = new StringBuilder();
        md.append("# Policy report: ").append(esc(s.name())).append("\n\n");
        md.append(esc(s.description())).append("\n\n");
        md.append("Policy file digest `").append(s.digest()).append("`. Report generated ").append(generatedAt)
                .append(".\n\n");

        md.append("## Effective container settings\n\n");
        MarkdownTable t = new MarkdownTable("setting", "value");
        t.row("runtime", s.runtime());
        t.row("seccomp profile", s.seccompProfile() + " (" + s.seccompDigest() + ")");
        t.row("user", s.user());
        t.row("root filesystem", s.readOnlyRootfs() ? "read-only" : "writable");
        t.row("network", s.network());
        t.row("capabilities", s.capabilities());
        t.row("no-new-privileges", String.valueOf(s.noNewPrivileges()));
        t.row("memory", s.memory() + ", memory+swap " + s.memorySwap());
        t.row("cpus", String.format(Locale.ROOT, "%s", s.cpus()));
        t.row("pids", String.valueOf(s.pids()));
        t.row("/tmp (tmpfs)", s.tmpSize());
        t.row("/dev/shm", s.shmSize());
        t.row("max runtime", s.maxRuntime() + " (then SIGTERM, SIGKILL after " + s.stopGrace() + ")");
        t.row("log cap", s.logSize());
        t.row("output cap", s.outputSize());
        t.row("image repositories", String.join(", ", s.allowedImageRepositories()) + " (pinned by digest)");
        t.row("datasets", s.allowedDatasets().isEmpty() ? "none" : String.join(", ", s.allowedDatasets()));
        t.row("teams", s.teams().isEmpty() ? "none (no team may use this policy)" : String.join(", ", s.teams()));
        t.row("dataset signature", s.requireDatasetSignature());
        md.append(t.render()).append('\n');
        if (!s.acceptedExceptions().isEmpty()) {
            md.append("Accepted probe exceptions:\n\n");
            s.acceptedExceptions().forEach(e -> md.append("- `").append(e.probe()).append("`: ")
                    .append(esc(e.reason())).append('\n'));
            md.append('\n');
        }

        md.append("## Seccomp profile\n\n");
        md.append("Default action ").append(esc(seccomp.defaultAction())).append("; ").append(seccomp.allowed().size())
                .append(" syscalls allowed outright, ").append(seccomp.conditional().size())
                .append(" only with certain arguments.\n\n");
        md.append("- Socket families allowed: ").append(esc(String.join(", ", seccomp.socketFamilies().allowed())))
                .append('\n');
        md.append("- Socket families refused: ").append(seccomp.socketFamilies().blocked().isEmpty() ? "none"
                : esc(String.join(", ", seccomp.socketFamilies().blocked()))).append('\n');
        md.append("- Compared with Docker's default profile (x86_64, no capabilities): ")
                .append(versusDocker.removed().size()).append(" syscalls fewer, ").append(versusDocker.added().size())
                .append(" more.\n");
        if (!versusDocker.removed().isEmpty()) {
            md.append("  - Refused here, allowed by Docker: ").append(esc(String.join(", ", versusDocker.removed())))
                    .append('\n');
        }
        if (!versusDocker.added().isEmpty()) {
            md.append("  - **Allowed here, not by Docker**: ").append(esc(String.join(", ", versusDocker.added())))
                    .append('\n');
        }
        if (!versusDocker.familiesNowBlocked().isEmpty()) {
            md.append("  - Socket families refused here, allowed by Docker: ")
                    .append(esc(String.join(", ", versusDocker.familiesNowBlocked()))).append('\n');
        }
        MarkdownTable cond = new MarkdownTable("syscall", "allowed only when");
        seccomp.conditional().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> cond.row(e.getKey(), String.join("; or ", e.getValue())));
        md.append("\n").append(cond.render());
        md.append("\nAllowed outright: ").append(esc(String.join(", ", seccomp.allowed()))).append("\n\n");

        md.append("## CIS Docker Benchmark v1.6.0, section 5\n\n");
        if (cis == null) {
            md.append("No job has run under this policy since the service started: submit one (or run the probe "
                    + "suite) to get results.\n\n");
        } else {
            md.append("From the container of job `").append(cis.job()).append("` (submitted ").append(cis.submittedAt())
                    .append("), judged from `docker inspect` only. ");
            md.append(cis.counts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                    .collect(Collectors.joining(" · ", "**", "**"))).append("\n\n");
            MarkdownTable c = new MarkdownTable("id", "title", "status", "evidence");
            cis.results().forEach(r -> c.row(2, r.status() == CisResult.Status.FAIL, r.id(), r.title(),
                    r.status().name(), r.evidence()));
            md.append(c.render()).append('\n');
        }

        md.append("## Escape and exfiltration probes\n\n");
        if (probeRunning != null) {
            md.append("A run is in progress since ").append(probeRunning.since()).append(" (job `")
                    .append(probeRunning.currentJob()).append("`).\n\n");
        }
        if (probes == null) {
            md.append("The probe suite has not run under this policy: `cloister policy probe ")
                    .append(esc(s.name())).append(" --image cloister/probe@sha256:…`.\n");
        } else {
            md.append("Latest run ").append(probes.startedAt()).append(" to ").append(probes.finishedAt())
                    .append(", image `").append(probes.image()).append("`, jobs ")
                    .append(probes.jobs().stream().map(j -> "`" + j + "`").collect(Collectors.joining(", ")))
                    .append(".\n");
            if (!probes.policyDigest().equals(s.digest())) {
                md.append("\n**The run was made under another version of this policy (")
                        .append(probes.policyDigest()).append("): run the suite again.**\n");
            }
            md.append("\n").append(probes.counts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                    .collect(Collectors.joining(" · ", "**", "**"))).append("; ")
                    .append(probes.problems().isEmpty() ? "no problems." : "**" + probes.problems().size()
                            + " problem(s)**:").append('\n');
            probes.problems().forEach(p -> md.append("- ").append(esc(p)).append('\n'));
            MarkdownTable p = new MarkdownTable("probe", "outcome", "errno", "detail");
            probes.results().forEach(r -> p.row(1, r.allowed(), r.probe(),
                    r.outcome() + (r.allowed() && s.acceptedExceptions().stream()
                            .anyMatch(e -> e.probe().equals(r.probe())) ? " (accepted)" : ""),
                    r.errno() == null ? "" : String.valueOf(r.errno()), r.detail()));
            md.append('\n').append(p.render());
        }
        return md.toString();
    }

    private static String esc(String text) {
        return MarkdownTable.escape(text == null ? "" : text);
    }
}
