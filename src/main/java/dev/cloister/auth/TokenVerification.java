package dev.cloister.auth;

import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;

import java.time.Duration;
import java.util.Set;

/**
 * What SmallRye JWT accepts: ES256 only (so {@code alg: none}, HMAC and RSA tokens are refused before any key is
 * tried), signed by this host's {@link IssuerKey} under its key id, with this issuer and audience, the team, subject,
 * id and times present, not expired (30 s of clock skew), and living at most {@link TokenIssuer#MAX_TTL}. It replaces
 * the {@code mp.jwt.verify.*} configuration, because the key is generated at first start rather than configured.
 */
@ApplicationScoped
public class TokenVerification {

    /** Clock skew allowed on {@code exp} and {@code iat}. */
    static final int SKEW_SECONDS = 30;

    /** The token rules, as settings the service reads at start. */
    public record Settings(String issuer, String audience, Duration maxTtl) {
    }

    @Produces
    @Alternative
    @Priority(1)
    @ApplicationScoped
    JWTAuthContextInfo contextInfo(IssuerKey key, Settings settings) {
        JWTAuthContextInfo info = new JWTAuthContextInfo(key.publicKey(), settings.issuer());
        info.setExpectedAudience(Set.of(settings.audience()));
        info.setSignatureAlgorithm(Set.of(SignatureAlgorithm.ES256));
        info.setTokenKeyId(key.keyId());
        info.setExpGracePeriodSecs(SKEW_SECONDS);
        info.setMaxTimeToLiveSecs(settings.maxTtl().toSeconds());
        info.setRequiredClaims(Set.of("sub", "team", "jti", "iat", "exp", "groups"));
        info.setRequireNamedPrincipal(true);
        return info;
    }
}
