package dev.cloister.auth;

import org.eclipse.microprofile.jwt.JsonWebToken;

import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens whose signature and claims have already been verified, kept until they expire. An ES256 verification costs
 * about 2 ms of CPU here, and clients send the same token on every request, so verifying it once per token rather
 * than once per request is what lets the service answer thousands of reads a second.
 *
 * <p>The key is the whole compact token, signature included: a token that differs in any byte, a forged signature
 * over a cached payload among them, misses and is verified in full. An entry is used only while {@code now < exp},
 * without the 30 s of skew verification allows, so a cached token never outlives what a fresh check would accept
 * by more than that skew. Only verified tokens enter, so filling the cache needs the issuer key; when it is full,
 * expired entries go first and, if none have, it starts over (bounded memory, one re-verification per token).
 */
final class VerifiedTokens {

    private record Entry(JsonWebToken jwt, long expiresAtSecond) {
    }

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final int capacity;
    private final Clock clock;

    VerifiedTokens(int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
        this.clock = clock;
    }

    /** The verified token for exactly these bytes, if it was verified before and has not expired. */
    Optional<JsonWebToken> find(String token) {
        Entry e = entries.get(token);
        if (e == null) {
            return Optional.empty();
        }
        if (now() >= e.expiresAtSecond) {
            entries.remove(token, e);
            return Optional.empty();
        }
        return Optional.of(e.jwt);
    }

    /** Remembers a token that has just been verified in full. */
    void remember(String token, JsonWebToken verified) {
        long exp = verified.getExpirationTime();
        if (exp <= now()) {
            return;
        }
        if (entries.size() >= capacity) {
            long now = now();
            entries.values().removeIf(e -> now >= e.expiresAtSecond);
            if (entries.size() >= capacity) {
                entries.clear();
            }
        }
        entries.put(token, new Entry(verified, exp));
    }

    int size() {
        return entries.size();
    }

    private long now() {
        return clock.instant().getEpochSecond();
    }
}
