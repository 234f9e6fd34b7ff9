package dev.cloister.auth;

import dev.cloister.SettableClock;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Token buckets with a fixed clock: the burst, the refusal with its wait, the refill, one bucket per token. */
class RateLimiterTest {

    private final SettableClock clock = new SettableClock(Instant.parse("2026-11-27T10:00:00Z"));
    private final RateLimiter limiter = new RateLimiter("submissions", 6, 2, clock);

    @Test
    void aBurstThenARefusalThatSaysHowLongToWait() {
        limiter.take("t1");
        limiter.take("t1");
        RateLimitedException e = assertThrows(RateLimitedException.class, () -> limiter.take("t1"));
        // 6 a minute: one every 10 s.
        assertEquals(Duration.ofSeconds(10), e.retryAfter());
        assertEquals(10, e.retryAfterSeconds());
        assertEquals("too many submissions with this token; retry after 10 s", e.getMessage());
    }

    @Test
    void theBucketRefillsAtTheRate() {
        limiter.take("t1");
        limiter.take("t1");
        clock.advance(Duration.ofSeconds(4));
        assertEquals(6, assertThrows(RateLimitedException.class, () -> limiter.take("t1")).retryAfterSeconds());
        clock.advance(Duration.ofSeconds(6));
        assertDoesNotThrow(() -> limiter.take("t1"));
        assertThrows(RateLimitedException.class, () -> limiter.take("t1"));
        // Never more than the burst, however long the token was idle.
        clock.advance(Duration.ofHours(1));
        limiter.take("t1");
        limiter.take("t1");
        assertThrows(RateLimitedException.class, () -> limiter.take("t1"));
    }

    @Test
    void eachTokenHasItsOwnAllowance() {
        limiter.take("t1");
        limiter.take("t1");
        assertThrows(RateLimitedException.class, () -> limiter.take("t1"));
        assertDoesNotThrow(() -> limiter.take("t2"));
    }

    @Test
    void limitsBelowOneAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RateLimiter("x", 0, 1, Clock.systemUTC()));
        assertThrows(IllegalArgumentException.class, () -> new RateLimiter("x", 1, 0, Clock.systemUTC()));
    }
}
