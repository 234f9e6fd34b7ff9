package dev.cloister.federation;

/** A weights file that is not the strict {@code .npz} Cloister accepts; the message says why, in words. */
public class NpzException extends Exception {

    public NpzException(String reason) {
        super(reason);
    }

    public NpzException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
