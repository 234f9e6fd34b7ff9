package dev.cloister.dataset;

/** A dataset cannot be registered or found; the message is safe to show to the requester. */
public class DatasetException extends Exception {

    public enum Kind { INVALID, NOT_FOUND, CONFLICT }

    /** The request field a refusal is about when it is not the dataset's name. */
    public static final String FIELD_SIGNATURE = "signature";
    /** The owning team given at registration. */
    public static final String FIELD_TEAM = "team";

    private final Kind kind;
    private final String field;

    public DatasetException(Kind kind, String message) {
        this(kind, "name", message);
    }

    public DatasetException(Kind kind, String field, String message) {
        super(message);
        this.kind = kind;
        this.field = field;
    }

    public Kind kind() {
        return kind;
    }

    /** The field at fault: {@code name} (the dataset itself), {@link #FIELD_SIGNATURE} or {@link #FIELD_TEAM}. */
    public String field() {
        return field;
    }
}
