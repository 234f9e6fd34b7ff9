package dev.cloister.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The issuer key on disk: generated once, 0600, reopened as the same key, refused when others can read it. */
class IssuerKeyTest {

    @Test
    void generatedOnceOwnerOnlyAndReopenedAsTheSameKey(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("auth");
        IssuerKey first = IssuerKey.openOrCreate(dir);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("issuer-key.pem"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals(first.keyId(), IssuerKey.openOrCreate(dir).keyId());
        assertEquals(first.keyId(), IssuerKey.open(dir.resolve("issuer-key.pem")).keyId());
        assertEquals(64, first.keyId().length());
        // Printing the key never prints key material.
        String printed = first.toString();
        assertEquals("IssuerKey[" + first.keyId() + "]", printed);
        assertFalse(printed.contains(Base64.getEncoder().encodeToString(first.privateKey().getEncoded()).substring(0, 40)));
    }

    @Test
    void aKeyFileOthersCanReadIsRefused(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("auth");
        IssuerKey.openOrCreate(dir);
        Files.setPosixFilePermissions(dir.resolve("issuer-key.pem"), PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> IssuerKey.openOrCreate(dir));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void aPublicKeyThatIsNotThePrivateKeysIsRefused(@TempDir Path tmp) throws IOException {
        Path a = tmp.resolve("a");
        IssuerKey.openOrCreate(a);
        IssuerKey.openOrCreate(tmp.resolve("b"));
        Files.copy(tmp.resolve("b/issuer.pub.pem"), a.resolve("issuer.pub.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IOException e = assertThrows(IOException.class, () -> IssuerKey.open(a.resolve("issuer-key.pem")));
        assertTrue(e.getMessage().contains("not the public key"), e.getMessage());
    }

    @Test
    void tokensAreIssuedOnlyForKnownRolesValidTeamsAndBoundedLifetimes(@TempDir Path tmp) throws IOException {
        TokenIssuer issuer = new TokenIssuer(IssuerKey.openOrCreate(tmp), Clock.systemUTC());
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("a", "t", List.of("root"), Duration.ofHours(1)));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("a", "T eam", List.of(Roles.ADMIN), Duration.ofHours(1)));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("a", "t", List.of(), Duration.ofHours(1)));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("a", "t", List.of(Roles.ADMIN), Duration.ofDays(31)));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("a", "t", List.of(Roles.ADMIN), Duration.ZERO));
        TokenIssuer.Issued t = issuer.issue("a", "t", List.of(Roles.ADMIN, Roles.REVIEWER), Duration.ofHours(1));
        assertEquals(32, t.id().length());
        assertFalse(t.toString().contains(t.token()), "an issued token prints without the token");
        String header = new String(Base64.getUrlDecoder().decode(t.token().split("\\.")[0]));
        assertTrue(header.contains("\"alg\":\"ES256\""), header);
    }
}
