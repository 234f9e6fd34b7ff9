package dev.cloister.auth;

import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.lang.JoseException;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Issues API tokens: compact JWS (ES256) signed with the {@link IssuerKey}, with {@code iss}, {@code aud},
 * {@code sub}, {@code team}, {@code groups} (the roles), {@code iat}, {@code exp} and a random {@code jti} (128
 * bits), and the key id as {@code kid}. Built with jose4j, the JOSE library SmallRye JWT verifies with.
 */
public final class TokenIssuer {

    /** Default issuer and audience; the service expects the same (cloister.auth.issuer / audience). */
    public static final String DEFAULT_ISSUER = "urn:cloister:issuer";
    public static final String DEFAULT_AUDIENCE = "cloister-api";
    /** The longest lifetime a token may have (the service refuses longer ones too). */
    public static final Duration MAX_TTL = Duration.ofDays(30);
    private static final Pattern SUBJECT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}");

    private final IssuerKey key;
    private final String issuer;
    private final String audience;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public TokenIssuer(IssuerKey key, String issuer, String audience, Clock clock) {
        this.key = key;
        this.issuer = issuer;
        this.audience = audience;
        this.clock = clock;
    }

    /** A token issuer with the default issuer and audience. */
    public TokenIssuer(IssuerKey key, Clock clock) {
        this(key, DEFAULT_ISSUER, DEFAULT_AUDIENCE, clock);
    }

    /**
     * @throws IllegalArgumentException for an unknown role, a bad team or subject name, or a lifetime that is not
     *                                  positive or longer than {@link #MAX_TTL}
     */
    public Issued issue(String subject, String team, List<String> roles, Duration ttl) {
        if (subject == null || !SUBJECT.matcher(subject).matches()) {
            throw new IllegalArgumentException("subject must be 1-128 letters, digits or . _ @ : -");
        }
        if (team == null || !dev.cloister.dataset.DatasetRegistry.TEAM.matcher(team).matches()) {
            throw new IllegalArgumentException("team must be lowercase letters, digits, '-' or '_'");
        }
        if (roles.isEmpty() || !Roles.ALL.containsAll(roles)) {
            throw new IllegalArgumentException("roles must be some of " + Roles.ALL + ", not " + roles);
        }
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl must be positive and at most " + MAX_TTL.toDays() + " days");
        }
        Instant now = clock.instant();
        Instant expires = now.plus(ttl);
        byte[] id = new byte[16];
        random.nextBytes(id);
        String jti = HexFormat.of().formatHex(id);
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(issuer);
        claims.setAudience(audience);
        claims.setSubject(subject);
        claims.setClaim(Caller.TEAM_CLAIM, team);
        claims.setStringListClaim("groups", List.copyOf(roles));
        claims.setIssuedAt(NumericDate.fromSeconds(now.getEpochSecond()));
        claims.setExpirationTime(NumericDate.fromSeconds(expires.getEpochSecond()));
        claims.setJwtId(jti);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(key.privateKey());
        jws.setKeyIdHeaderValue(key.keyId());
        jws.setHeader("typ", "JWT");
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256);
        try {
            return new Issued(jws.getCompactSerialization(), subject, team, List.copyOf(roles), jti, expires);
        } catch (JoseException e) {
            throw new IllegalStateException("the token cannot be signed", e);
        }
    }

    /**
     * An issued token. {@link #toString()} leaves the token itself out, so that printing one never logs it.
     *
     * @param token the compact JWS, to send as {@code Authorization: Bearer <token>}
     */
    public record Issued(String token, String subject, String team, List<String> roles, String id, Instant expires) {
        @Override
        public String toString() {
            return "token " + id + " for " + subject + " (team " + team + ", roles " + String.join(",", roles)
                    + ", expires " + expires + ")";
        }
    }
}
