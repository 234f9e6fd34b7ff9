package dev.cloister.federation;

/**
 * What a site wrote is not acceptable (a weights file that is not the strict {@code .npz} Cloister reads, an update
 * with the wrong shapes or non-finite values, a malformed {@code metrics.json}); the message says why, in words, and
 * becomes the site's exclusion reason.
 */
public class InvalidUpdateException extends Exception {

    public InvalidUpdateException(String reason) {
        super(reason);
    }

    public InvalidUpdateException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
