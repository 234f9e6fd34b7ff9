package dev.cloister.auth;

import java.time.Duration;

/** A token used up its allowance for an action; {@link #retryAfter()} says when the next one is allowed. */
public final class RateLimitedException extends RuntimeException {

    private final Duration retryAfter;

    public RateLimitedException(String action, Duration retryAfter) {
        super("too many " + action + " with this token; retry after " + Math.max(1, seconds(retryAfter)) + " s");
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }

    /** Whole seconds to wait, rounded up, at least 1 (the {@code Retry-After} value). */
    public long retryAfterSeconds() {
        return Math.max(1, seconds(retryAfter));
    }

    private static long seconds(Duration d) {
        return (d.toMillis() + 999) / 1000;
    }
}
