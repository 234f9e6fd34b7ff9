package dev.cloister.auth;

import dev.cloister.SettableClock;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The parser in front of SmallRye JWT verifies each distinct token once and remembers it only while it is valid. The
 * verifier here is a counting fake that accepts the tokens it is told to; {@code AuthApiTest} runs the real one.
 */
class TokenParserTest {

    private static final Instant T0 = Instant.parse("2026-11-27T12:00:00Z");

    /** Accepts the tokens in {@code valid}, each expiring at the given second; counts every call. */
    private static final class Verifier extends DefaultJWTParser {
        final java.util.Map<String, Long> valid = new java.util.HashMap<>();
        final List<String> calls = new ArrayList<>();

        @Override
        public JsonWebToken parse(String token) throws ParseException {
            calls.add(token);
            Long exp = valid.get(token);
            if (exp == null) {
                throw new ParseException("bad token " + token);
            }
            return jwt(token, exp);
        }
    }

    private static JsonWebToken jwt(String name, long exp) {
        return new JsonWebToken() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public Set<String> getClaimNames() {
                return Set.of("sub", "exp");
            }

            @Override
            @SuppressWarnings("unchecked")
            public <T> T getClaim(String claim) {
                return (T) (claim.equals("exp") ? (Object) exp : claim.equals("sub") ? name : null);
            }
        };
    }

    private final Verifier verifier = new Verifier();
    private final SettableClock clock = new SettableClock(T0);
    private final JWTParser parser = new TokenParser(verifier, new VerifiedTokens(3, clock));

    private long in(Duration d) {
        return T0.plus(d).getEpochSecond();
    }

    @Test
    void aTokenIsVerifiedOnceAndThenRemembered() throws Exception {
        verifier.valid.put("a.b.c", in(Duration.ofHours(1)));
        JsonWebToken first = parser.parse("a.b.c");
        JsonWebToken second = parser.parse("a.b.c");
        assertSame(first, second);
        assertEquals(List.of("a.b.c"), verifier.calls);
    }

    @Test
    void aTokenDifferingInAnyByteIsVerifiedInFullAndRefused() throws Exception {
        verifier.valid.put("a.b.c", in(Duration.ofHours(1)));
        parser.parse("a.b.c");
        for (String forged : List.of("a.b.d", "a.x.c", "a.b.c ", "a.b.")) {
            assertThrows(ParseException.class, () -> parser.parse(forged), forged);
        }
        assertEquals(List.of("a.b.c", "a.b.d", "a.x.c", "a.b.c ", "a.b."), verifier.calls);
    }

    @Test
    void refusalsAreNotRemembered() {
        assertThrows(ParseException.class, () -> parser.parse("x.y.z"));
        assertThrows(ParseException.class, () -> parser.parse("x.y.z"));
        assertEquals(2, verifier.calls.size());
    }

    @Test
    void aRememberedTokenIsVerifiedAgainOnceItExpires() throws Exception {
        verifier.valid.put("a.b.c", in(Duration.ofMinutes(5)));
        parser.parse("a.b.c");
        clock.set(T0.plus(Duration.ofMinutes(5)).minusSeconds(1));
        parser.parse("a.b.c");
        assertEquals(1, verifier.calls.size());
        clock.set(T0.plus(Duration.ofMinutes(5)));
        verifier.valid.remove("a.b.c"); // what SmallRye says once the skew is over too
        assertThrows(ParseException.class, () -> parser.parse("a.b.c"));
        assertEquals(2, verifier.calls.size());
    }

    @Test
    void theCacheStaysWithinItsCapacityDroppingExpiredTokensFirst() throws Exception {
        VerifiedTokens tokens = new VerifiedTokens(3, clock);
        tokens.remember("short", jwt("short", in(Duration.ofSeconds(10))));
        tokens.remember("long-1", jwt("long-1", in(Duration.ofHours(1))));
        tokens.remember("long-2", jwt("long-2", in(Duration.ofHours(1))));
        clock.set(T0.plusSeconds(11));
        tokens.remember("long-3", jwt("long-3", in(Duration.ofHours(1))));
        assertEquals(3, tokens.size());
        assertEquals(true, tokens.find("long-1").isPresent());
        tokens.remember("long-4", jwt("long-4", in(Duration.ofHours(1))));
        assertEquals(1, tokens.size(), "none had expired: it starts over rather than grow");
        assertEquals(true, tokens.find("long-4").isPresent());
    }

    @Test
    void anAlreadyExpiredTokenIsNotRemembered() {
        VerifiedTokens tokens = new VerifiedTokens(3, clock);
        tokens.remember("old", jwt("old", T0.getEpochSecond()));
        assertEquals(0, tokens.size());
    }
}
