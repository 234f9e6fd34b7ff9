package dev.cloister.policy;

import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.markdown.MarkdownTable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What changes from one policy to another, each change judged as loosening (the job can do more, or the host checks
 * less), tightening, or neither, with loosening first: the order a reviewer signing off a change must read them in.
 * Locks no policy can change (network none, no capabilities, read-only root) never appear: they cannot differ.
 *
 * @param from    the policy before the change (its name and digest)
 * @param to      the policy after it
 * @param changes every difference, loosening first, then neither, then tightening
 */
public record PolicyDiff(String from, String to, List<Change> changes) {

    /** Which way a change moves the job's confinement. */
    public enum Direction { LOOSENS, CHANGES, TIGHTENS }

    /** One difference: the policy field (as written in the YAML), both values, and why it counts as it does. */
    public record Change(Direction direction, String field, String from, String to, String why) {
    }

    public PolicyDiff {
        changes = changes.stream().sorted(Comparator.comparing(Change::direction)).toList();
    }

    /** The changes that loosen the policy. */
    public List<Change> loosening() {
        return changes.stream().filter(c -> c.direction() == Direction.LOOSENS).toList();
    }

    /** Compares {@code a} (before) with {@code b} (after). */
    public static PolicyDiff between(Policy a, Policy b) {
        List<Change> out = new ArrayList<>();
        if (a.runtime() != b.runtime()) {
            boolean toRunc = b.runtime() == ContainerRuntime.RUNC;
            out.add(new Change(toRunc ? Direction.LOOSENS : Direction.TIGHTENS, "runtime", a.runtime().engineName(),
                    b.runtime().engineName(), toRunc ? "runc lets the job's syscalls reach the host kernel; runsc "
                    + "serves them from gVisor's user-space kernel" : "runsc serves the job's syscalls from gVisor's "
                    + "user-space kernel instead of the host's"));
        }
        seccomp(a.seccomp(), b.seccomp(), out);
        if (!a.user().equals(b.user())) {
            out.add(new Change(Direction.CHANGES, "user", a.user().toString(), b.user().toString(),
                    "another non-root uid:gid; files the job can read depend on their owners"));
        }
        list("images.allowedRepositories", a.allowedImageRepositories(), b.allowedImageRepositories(),
                "repositories jobs may run", out);
        more("scratch.tmp", a.tmpSize(), b.tmpSize(), ByteSize::compareTo, out);
        more("scratch.shm", a.shmSize(), b.shmSize(), ByteSize::compareTo, out);
        more("limits.memory", a.limits().memory(), b.limits().memory(), ByteSize::compareTo, out);
        more("limits.cpus", a.limits().cpus(), b.limits().cpus(), Double::compare, out);
        more("limits.pids", a.limits().pids(), b.limits().pids(), Long::compare, out);
        more("limits.maxRuntime", a.limits().maxRuntime(), b.limits().maxRuntime(), Duration::compareTo,
                DurationText::format, out);
        more("limits.stopGrace", a.stopGrace(), b.stopGrace(), Duration::compareTo, DurationText::format, out);
        more("limits.logSize", a.logSize(), b.logSize(), ByteSize::compareTo, out);
        more("limits.outputSize", a.outputSize(), b.outputSize(), ByteSize::compareTo, out);
        list("datasets.allowed", a.allowedDatasets(), b.allowedDatasets(), "datasets jobs may mount", out);
        list("teams", a.teams(), b.teams(), "teams whose jobs may use the policy", out);
        signature(a.requiredDatasetSignature().orElse(null), b.requiredDatasetSignature().orElse(null), out);
        if (a.federatedInput() != b.federatedInput()) {
            out.add(new Change(b.federatedInput() ? Direction.LOOSENS : Direction.TIGHTENS, "federation.allowInput",
                    Boolean.toString(a.federatedInput()), Boolean.toString(b.federatedInput()), b.federatedInput()
                    ? "federated sites may run, with the host's global weights mounted read-only at /in"
                    : "federated sites may no longer run"));
        }
        list("acceptedExceptions", a.acceptedExceptions().stream().map(Policy.AcceptedException::probe).toList(),
                b.acceptedExceptions().stream().map(Policy.AcceptedException::probe).toList(),
                "escape probes that may report 'allowed'", out);
        return new PolicyDiff(a.name() + " (" + a.digest() + ")", b.name() + " (" + b.digest() + ")", out);
    }

    private static void seccomp(SeccompProfile a, SeccompProfile b, List<Change> out) {
        if (a.digest().equals(b.digest())) {
            return;
        }
        SeccompSummary.Difference d = SeccompSummary.of(a.json()).differenceTo(SeccompSummary.of(b.json()));
        String from = shortName(a);
        String to = shortName(b);
        String field = "seccompProfile";
        if (!d.added().isEmpty()) {
            out.add(new Change(Direction.LOOSENS, field, from, to, d.added().size()
                    + " syscall(s) now allowed outright: " + String.join(", ", d.added())));
        }
        if (!d.familiesNowAllowed().isEmpty()) {
            out.add(new Change(Direction.LOOSENS, field, from, to, "socket(2) may now open: "
                    + String.join(", ", d.familiesNowAllowed())));
        }
        if (!d.removed().isEmpty()) {
            out.add(new Change(Direction.TIGHTENS, field, from, to, d.removed().size()
                    + " syscall(s) no longer allowed outright: " + String.join(", ", d.removed())));
        }
        if (!d.familiesNowBlocked().isEmpty()) {
            out.add(new Change(Direction.TIGHTENS, field, from, to, "socket(2) now refuses: "
                    + String.join(", ", d.familiesNowBlocked())));
        }
        if (d.isEmpty()) {
            out.add(new Change(Direction.CHANGES, field, from, to, "the same syscalls and socket families are "
                    + "allowed; argument conditions, errno values or comments differ: read the profiles' diff"));
        }
    }

    // The profile's file name and the start of its digest: two versions of one file still tell apart.
    private static String shortName(SeccompProfile p) {
        String hex = p.digest().hex();
        return p.name() + " (sha256:" + hex.substring(0, 12) + "…)";
    }

    private static void signature(SignatureRequirement a, SignatureRequirement b, List<Change> out) {
        String field = "requireDatasetSignature";
        if (Objects.equals(a, b)) {
            return;
        }
        if (a == null || b == null) {
            out.add(new Change(b == null ? Direction.LOOSENS : Direction.TIGHTENS, field,
                    a == null ? "not required" : a.describe(), b == null ? "not required" : b.describe(),
                    b == null ? "datasets are no longer checked for a signature" : "datasets must now carry a signature"));
            return;
        }
        list(field + ".identities", a.identities(), b.identities(), "signers whose datasets are accepted", out);
        list(field + ".issuers", a.issuers(), b.issuers(), "OIDC issuers whose certificates are accepted", out);
        if (!a.trustedRoot().equals(b.trustedRoot())) {
            out.add(new Change(Direction.CHANGES, field + ".trustedRoot", a.trustedRoot().toString(),
                    b.trustedRoot().toString(), "another trusted root: check which CAs and logs it adds"));
        }
    }

    // A list that allows things: an entry added loosens, an entry removed tightens.
    private static void list(String field, List<String> a, List<String> b, String what, List<Change> out) {
        List<String> added = b.stream().filter(x -> !a.contains(x)).toList();
        List<String> removed = a.stream().filter(x -> !b.contains(x)).toList();
        if (!added.isEmpty()) {
            out.add(new Change(Direction.LOOSENS, field, a.toString(), b.toString(), "adds " + what + ": " + added));
        }
        if (!removed.isEmpty()) {
            out.add(new Change(Direction.TIGHTENS, field, a.toString(), b.toString(), "removes " + what + ": " + removed));
        }
    }

    private static <T> void more(String field, T a, T b, Comparator<T> order, List<Change> out) {
        more(field, a, b, order, String::valueOf, out);
    }

    // A cap: raising it loosens, lowering it tightens.
    private static <T> void more(String field, T a, T b, Comparator<T> order, Function<T, String> show,
                                 List<Change> out) {
        int c = order.compare(a, b);
        if (c != 0) {
            out.add(new Change(c < 0 ? Direction.LOOSENS : Direction.TIGHTENS, field, show.apply(a), show.apply(b),
                    c < 0 ? "a higher cap" : "a lower cap"));
        }
    }

    /** The diff as Markdown for sign-off: a verdict line, then one table row per change, loosening first. */
    public String markdown() {
        StringBuilder md = new StringBuilder("## Policy change: ").append(MarkdownTable.escape(from)).append(" → ")
                .append(MarkdownTable.escape(to)).append("\n\n");
        long loosens = loosening().size();
        long tightens = changes.stream().filter(c -> c.direction() == Direction.TIGHTENS).count();
        md.append(changes.isEmpty() ? "**No effective change.**\n"
                : "**" + loosens + " loosening · " + (changes.size() - loosens - tightens) + " neither · " + tightens
                + " tightening**\n");
        if (!changes.isEmpty()) {
            MarkdownTable table = new MarkdownTable("direction", "field", "before", "after", "why");
            for (Change c : changes) {
                table.row(0, c.direction() == Direction.LOOSENS, c.direction().name(), c.field(), c.from(), c.to(),
                        c.why());
            }
            md.append('\n').append(table.render());
        }
        return md.toString();
    }
}
