package dev.cloister.audit;

import dev.cloister.verify.VerificationException;

/**
 * An audit export did not verify; {@link #seq()} is the first sequence number at fault, and the one reason says what
 * is wrong there ("entry 17: hash does not match its content (edited)").
 */
public final class AuditVerificationException extends VerificationException {

    private final long seq;

    public AuditVerificationException(long seq, String reason) {
        super(reason);
        this.seq = seq;
    }

    /** The first bad sequence number: the entry (or checkpoint) where verification stopped. */
    public long seq() {
        return seq;
    }
}
