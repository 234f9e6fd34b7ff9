package dev.cloister.review;

import dev.cloister.policy.Policy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The results of one run of the probe suite under one policy, as recorded for the policy's report.
 *
 * @param policy       the policy's name
 * @param policyDigest the digest of the policy file the run was admitted under
 * @param image        the probe image, pinned
 * @param startedAt    when the run began
 * @param finishedAt   when its last job ended
 * @param jobs         the jobs that ran it (the suite, then each bomb alone)
 * @param results      every probe's verdict, in the order they ran
 * @param problems     what a reviewer must look at: an "allowed" the policy does not accept, an undecided probe, an
 *                     accepted exception that no longer reports "allowed", a job that did not end cleanly; empty
 *                     when the policy blocks what it says it blocks
 */
public record ProbeEvidence(String policy, String policyDigest, String image, Instant startedAt, Instant finishedAt,
                            List<String> jobs, List<ProbeOutcome> results, List<String> problems) {

    public ProbeEvidence {
        jobs = List.copyOf(jobs);
        results = List.copyOf(results);
        problems = List.copyOf(problems);
    }

    /** Judges {@code results} against what {@code policy} accepts; {@code runProblems} are the jobs' own. */
    static List<String> judge(Policy policy, Map<String, ProbeOutcome> results, List<String> runProblems) {
        List<String> problems = new ArrayList<>(runProblems);
        for (ProbeOutcome r : results.values()) {
            if (r.allowed() && policy.acceptedException(r.probe()).isEmpty()) {
                problems.add("ALLOWED " + r.probe() + ": " + r.detail() + " (not in " + policy.name()
                        + "'s acceptedExceptions)");
            } else if (r.outcome().equals("error")) {
                problems.add("ERROR " + r.probe() + " (undecided, counts as not blocked): " + r.detail());
            }
        }
        for (Policy.AcceptedException e : policy.acceptedExceptions()) {
            ProbeOutcome r = results.get(e.probe());
            if (r == null || !r.allowed()) {
                problems.add("STALE acceptedExceptions entry " + e.probe() + ": the probe "
                        + (r == null ? "did not run" : "reported " + r.outcome() + " (" + r.detail() + ")")
                        + "; remove the entry from policies/" + policy.name() + ".yaml");
            }
        }
        return problems;
    }

    /** How many probes had each outcome. */
    public Map<String, Long> counts() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        results.forEach(r -> counts.merge(r.outcome(), 1L, Long::sum));
        return counts;
    }
}
