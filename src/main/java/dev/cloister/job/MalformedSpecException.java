package dev.cloister.job;

/** A request body that is not a readable JSON or YAML document (HTTP 400), or too large (HTTP 413). */
public class MalformedSpecException extends Exception {

    private final boolean tooLarge;

    public MalformedSpecException(String message, boolean tooLarge) {
        super(message);
        this.tooLarge = tooLarge;
    }

    public boolean tooLarge() {
        return tooLarge;
    }
}
