package dev.cloister.dataset;

/** A dataset cannot be registered or found; the message is safe to show to the requester. */
public class DatasetException extends Exception {

    public enum Kind { INVALID, NOT_FOUND, CONFLICT }

    private final Kind kind;

    public DatasetException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
