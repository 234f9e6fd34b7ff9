package dev.cloister.cis;

/**
 * The outcome of one CIS recommendation for one container.
 *
 * @param id       the benchmark's item number, e.g. {@code 5.22}
 * @param title    the benchmark's title of the item
 * @param evidence the inspected values the status rests on, quoted, and for a status other than PASS or FAIL the
 *                 reason the item was not judged pass/fail
 */
public record CisResult(String id, String title, Status status, String evidence) {

    /** How a container stands against one recommendation. */
    public enum Status {
        /** The inspected configuration meets the recommendation. */
        PASS,
        /** The inspected configuration does not meet it. */
        FAIL,
        /** The recommendation does not bear on this container or cannot be judged from inspect; evidence says why. */
        NOT_APPLICABLE,
        /** The host lacks what the recommendation needs (e.g. AppArmor in the kernel): no container here can pass. */
        CANNOT_PASS_ON_HOST
    }

    public CisResult {
        if (id == null || id.isBlank() || title == null || title.isBlank() || status == null) {
            throw new IllegalArgumentException("a CIS result needs an id, a title and a status");
        }
        if (evidence == null || evidence.isBlank()) {
            throw new IllegalArgumentException("CIS " + id + ": a result needs the evidence it rests on");
        }
    }
}
