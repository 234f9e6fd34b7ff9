package dev.cloister.job;

/** A request body that is not a readable JSON or YAML document (HTTP 400), or too large (HTTP 413). */
public class MalformedSpecException extends Exception {

    private final boolean tooLarge;
    private final String auditReason;

    public MalformedSpecException(String message, boolean tooLarge) {
        this(message, message, tooLarge);
    }

    /** @param auditReason the message without anything quoted from the body, for the audit log */
    public MalformedSpecException(String message, String auditReason, boolean tooLarge) {
        super(message);
        this.auditReason = auditReason;
        this.tooLarge = tooLarge;
    }

    /** The reason as the audit log records it: never a fragment of the body, which may hold env values. */
    public String auditReason() {
        return auditReason;
    }

    public boolean tooLarge() {
        return tooLarge;
    }
}
