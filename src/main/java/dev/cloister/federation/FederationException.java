package dev.cloister.federation;

/** A federation request that cannot be honoured as asked (unknown site, a federation in the wrong state). */
public class FederationException extends Exception {

    /** What kind of refusal, so the API can choose the status. */
    public enum Kind { NOT_FOUND, FORBIDDEN, CONFLICT }

    private final Kind kind;

    public FederationException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
