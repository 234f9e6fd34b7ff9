package dev.cloister.verify;

import java.util.List;

/**
 * A signature, bundle or model did not verify. {@link #reasons()} says, in words, every reason found (each
 * modified, added or removed file by name), not just the first.
 */
public class VerificationException extends Exception {

    private final List<String> reasons;

    public VerificationException(List<String> reasons) {
        super("verification failed: " + String.join("; ", reasons));
        if (reasons.isEmpty()) {
            throw new IllegalArgumentException("a verification failure needs a reason");
        }
        this.reasons = List.copyOf(reasons);
    }

    public VerificationException(String reason) {
        this(List.of(reason));
    }

    public VerificationException(String reason, Throwable cause) {
        super("verification failed: " + reason, cause);
        this.reasons = List.of(reason);
    }

    /** Every reason, in the order found. */
    public List<String> reasons() {
        return reasons;
    }
}
