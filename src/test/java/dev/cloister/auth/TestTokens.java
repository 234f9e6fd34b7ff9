package dev.cloister.auth;

import org.eclipse.microprofile.config.ConfigProvider;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Real tokens for tests, signed with the issuer key of the service under test (the file it generated on its first
 * start), exactly as {@code cloister token issue} makes them. {@link DefaultTestToken} sends {@link #DEFAULT} with
 * every RestAssured request; tests that need other tokens issue them here.
 */
public final class TestTokens {

    /** The team of the default test token; the repository's policies name it. */
    public static final String TEAM = "test";

    private final IssuerKey key;

    private TestTokens(IssuerKey key) {
        this.key = key;
    }

    /** Tokens of the service whose issuer key is in {@code authDir} ({@code <data-dir>/auth}). */
    public static TestTokens of(Path authDir) {
        try {
            return new TestTokens(IssuerKey.open(authDir.resolve(IssuerKey.PRIVATE_FILE)));
        } catch (IOException e) {
            throw new UncheckedIOException("the service's issuer key cannot be read: " + e.getMessage(), e);
        }
    }

    /** Tokens of the Quarkus application under test (its {@code cloister.data-dir} or {@code cloister.auth.dir}). */
    public static TestTokens ofRunningService() {
        var config = ConfigProvider.getConfig();
        Path dir = config.getOptionalValue("cloister.auth.dir", String.class).map(Path::of).orElseGet(() ->
                Path.of(config.getValue("cloister.data-dir", String.class)).toAbsolutePath().resolve("auth"));
        return of(dir);
    }

    /** A token for team {@code test} with every role, valid for 8 hours: what RestAssured sends by default. */
    public String defaultToken() {
        return issue("test", TEAM, Roles.ALL, Duration.ofHours(8));
    }

    public String issue(String subject, String team, List<String> roles, Duration ttl) {
        return issuer(Clock.systemUTC()).issue(subject, team, roles, ttl).token();
    }

    /** An issuer whose clock may be set back, for expired tokens. */
    public TokenIssuer issuer(Clock clock) {
        return new TokenIssuer(key, clock);
    }

    public String keyId() {
        return key.keyId();
    }

    /** The issuer key's PKCS#8 encoding, for tests that look for it where it must not be. */
    public byte[] privateKeyEncoding() {
        return key.privateKey().getEncoded();
    }
}
