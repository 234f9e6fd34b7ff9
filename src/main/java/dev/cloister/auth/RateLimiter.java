package dev.cloister.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-token token buckets for one kind of action (submissions, log streams): {@code burst} at once, refilled at
 * {@code perMinute}. Buckets are keyed by the token's id, so two tokens of one team do not share an allowance, and
 * a full bucket is forgotten (idle tokens cost no memory).
 */
public final class RateLimiter {

    private final String action;
    private final double perNano;
    private final double burst;
    private final Clock clock;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    /**
     * @param action    what is limited, in words ("submissions"), for the refusal's message
     * @param perMinute how many actions a minute a token may sustain; at least 1
     * @param burst     how many it may take at once; at least 1
     */
    public RateLimiter(String action, int perMinute, int burst, Clock clock) {
        if (perMinute < 1 || burst < 1) {
            throw new IllegalArgumentException(action + ": per-minute and burst must be at least 1");
        }
        this.action = action;
        this.perNano = perMinute / (double) Duration.ofMinutes(1).toNanos();
        this.burst = burst;
        this.clock = clock;
    }

    /** Takes one action from {@code tokenId}'s allowance, or throws with how long to wait for the next one. */
    public void take(String tokenId) {
        Instant now = clock.instant();
        Duration wait = buckets.compute(tokenId, (k, b) -> (b == null ? new Bucket(burst, now) : b.refill(now, perNano,
                burst)).take()).waitFor(perNano);
        if (!wait.isZero()) {
            throw new RateLimitedException(action, wait);
        }
        buckets.entrySet().removeIf(e -> e.getValue().refill(now, perNano, burst).tokens() >= burst);
    }

    // tokens may be below 1 only transiently: take() consumes only when at least one is there.
    private record Bucket(double tokens, Instant at, boolean granted) {
        Bucket(double tokens, Instant at) {
            this(tokens, at, false);
        }

        Bucket refill(Instant now, double perNano, double burst) {
            long nanos = Math.max(0, Duration.between(at, now).toNanos());
            return new Bucket(Math.min(burst, tokens + nanos * perNano), now.isAfter(at) ? now : at, false);
        }

        Bucket take() {
            return tokens >= 1 ? new Bucket(tokens - 1, at, true) : new Bucket(tokens, at, false);
        }

        Duration waitFor(double perNano) {
            return granted ? Duration.ZERO : Duration.ofNanos((long) Math.ceil((1 - tokens) / perNano));
        }
    }
}
