package dev.cloister.auth;

import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.JWTCallerPrincipalFactory;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Inject;
import org.eclipse.microprofile.jwt.JsonWebToken;

import javax.crypto.SecretKey;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Clock;

/**
 * The parser Quarkus's bearer-token check calls on every request: SmallRye JWT's own, with the rules of
 * {@link TokenVerification}, remembering each token it has verified until the token expires ({@link VerifiedTokens}).
 * Everything other than parsing a request's token goes straight to SmallRye.
 */
@Alternative
@Priority(1)
@ApplicationScoped
public class TokenParser implements JWTParser {

    /** Distinct live tokens remembered; a few MiB at most. */
    static final int CAPACITY = 10_000;

    private final JWTParser verifier;
    private final VerifiedTokens verified;

    @Inject
    TokenParser(JWTAuthContextInfo rules, JWTCallerPrincipalFactory factory, Clock clock) {
        this(new DefaultJWTParser(rules, factory), new VerifiedTokens(CAPACITY, clock));
    }

    TokenParser(JWTParser verifier, VerifiedTokens verified) {
        this.verifier = verifier;
        this.verified = verified;
    }

    @Override
    public JsonWebToken parse(String token) throws ParseException {
        var known = verified.find(token);
        if (known.isPresent()) {
            return known.get();
        }
        JsonWebToken jwt = verifier.parse(token);
        verified.remember(token, jwt);
        return jwt;
    }

    @Override
    public JsonWebToken parse(String token, JWTAuthContextInfo context) throws ParseException {
        return verifier.parse(token, context);
    }

    @Override
    public JsonWebToken verify(String token, PublicKey key) throws ParseException {
        return verifier.verify(token, key);
    }

    @Override
    public JsonWebToken verify(String token, SecretKey key) throws ParseException {
        return verifier.verify(token, key);
    }

    @Override
    public JsonWebToken verify(String token, String secret) throws ParseException {
        return verifier.verify(token, secret);
    }

    @Override
    public JsonWebToken decrypt(String token, PrivateKey key) throws ParseException {
        return verifier.decrypt(token, key);
    }

    @Override
    public JsonWebToken decrypt(String token, SecretKey key) throws ParseException {
        return verifier.decrypt(token, key);
    }

    @Override
    public JsonWebToken decrypt(String token, String secret) throws ParseException {
        return verifier.decrypt(token, secret);
    }

    @Override
    public JsonWebToken parseOnly(String token) throws ParseException {
        return verifier.parseOnly(token);
    }
}
