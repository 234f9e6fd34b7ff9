package dev.cloister.sandbox;

/** The runtime could not run a plan; the message says why in words safe to show the job's owner. */
public class SandboxException extends Exception {

    public enum Kind {
        /** The pinned image is not on this host (or its digest does not match). */
        IMAGE_NOT_FOUND,
        /** A plan field the runtime cannot honour (fail loudly, never run weaker). */
        UNSUPPORTED,
        /** The engine failed or did not answer within its timeout. */
        ENGINE,
        /** Collecting outputs failed (e.g. no space left). */
        OUTPUT,
        /** The service let go of the run on shutdown; the container runs on for the next process to follow. */
        DETACHED
    }

    private final Kind kind;

    public SandboxException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public SandboxException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
