package dev.cloister.keys;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostKeysTest {

    private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-02T03:04:05Z"), ZoneOffset.UTC);

    @TempDir
    Path tmp;

    private static String sha256Hex(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void firstUseGeneratesAnEncryptedOwnerOnlyKey() throws Exception {
        Path dir = tmp.resolve("keys");
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE, CLOCK)) {
            KeyInfo info = keys.keys().get(0);
            assertEquals(1, keys.keys().size());
            assertTrue(info.active());
            assertEquals(Instant.parse("2025-01-02T03:04:05Z"), info.created());

            Path privateKey = dir.resolve(info.privateKeyFile().orElseThrow());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(privateKey)));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            String pem = Files.readString(privateKey);
            assertTrue(pem.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "encrypted PKCS#8: " + pem.lines().findFirst());
            assertFalse(pem.contains("BEGIN PRIVATE KEY") || pem.contains("BEGIN EC PRIVATE KEY"));
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(info.id().hex() + ".key.pem", info.id().hex() + ".pub.pem", "keys.json"),
                        files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary files left");
            }
        }
    }

    @Test
    void privateKeyCannotBeReadWithoutThePassphrase() throws Exception {
        Path dir = tmp.resolve("keys");
        String pem;
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            pem = Files.readString(dir.resolve(keys.keys().get(0).privateKeyFile().orElseThrow()));
        }
        KeyException none = assertThrows(KeyException.class, () -> PrivateKeys.read(pem, null));
        assertEquals("the private key is encrypted and no passphrase was given", none.getMessage());
        KeyException wrong = assertThrows(KeyException.class, () -> HostKeys.open(dir, "wrong".toCharArray()));
        assertEquals("cannot decrypt the private key: wrong passphrase or damaged file", wrong.getMessage());
    }

    @Test
    void openSslReadsTheKeyWithThePassphraseOnly() throws Exception {
        Path openssl = Path.of("/usr/bin/openssl");
        assertTrue(Files.isExecutable(openssl), "openssl is not installed: deploy/host-setup.sh installs it");
        Path dir = tmp.resolve("keys");
        Path privateKey;
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            privateKey = dir.resolve(keys.keys().get(0).privateKeyFile().orElseThrow());
        }
        assertEquals(0, openssl(privateKey, new String(PASSPHRASE)), "openssl decrypts it with the passphrase");
        assertEquals(1, openssl(privateKey, "wrong"), "and not without it");
    }

    private static int openssl(Path privateKey, String passphrase) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("/usr/bin/openssl", "pkey", "-in", privateKey.toString(),
                "-passin", "env:CLOISTER_TEST_PASSPHRASE", "-noout").redirectErrorStream(true);
        builder.environment().put("CLOISTER_TEST_PASSPHRASE", passphrase);
        Process process = builder.start();
        process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "openssl finished in time");
        return process.exitValue();
    }

    @Test
    void keyIdIsTheSha256OfTheCanonicalPublicKeyPem() throws Exception {
        Path dir = tmp.resolve("keys");
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            byte[] pemBytes = Files.readAllBytes(dir.resolve(keys.keys().get(0).publicKeyFile()));
            String pem = new String(pemBytes, StandardCharsets.US_ASCII);
            assertEquals(sha256Hex(pemBytes), keys.activeKeyId().hex());
            assertEquals(pem, keys.signer().publicKeyPem());
            assertCanonicalPem(pem);
        }
    }

    static void assertCanonicalPem(String pem) {
        assertFalse(pem.contains("\r"), "LF endings only");
        assertTrue(pem.endsWith("-----END PUBLIC KEY-----\n"), "trailing LF");
        List<String> lines = pem.lines().toList();
        assertEquals("-----BEGIN PUBLIC KEY-----", lines.get(0));
        List<String> body = lines.subList(1, lines.size() - 1);
        for (int i = 0; i < body.size(); i++) {
            if (i < body.size() - 1) {
                assertEquals(64, body.get(i).length(), "64-column base64 lines");
            } else {
                assertTrue(body.get(i).length() <= 64 && !body.get(i).isEmpty());
            }
        }
    }

    @Test
    void reopeningLoadsTheSameKeyAndItsSignaturesVerify() throws Exception {
        Path dir = tmp.resolve("keys");
        KeyId first;
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            first = keys.activeKeyId();
        }
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            assertEquals(first, keys.activeKeyId());
            byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
            Signature verifier = Signature.getInstance("SHA256withECDSA");
            verifier.initVerify(PublicKeyPem.parse(keys.signer().publicKeyPem()).publicKey());
            verifier.update(data);
            assertTrue(verifier.verify(keys.signer().sign(data)), "DER ECDSA P-256/SHA-256 signature verifies");
        }
    }

    @Test
    void rotationActivatesANewKeyAndKeepsOldPublicKeysListed() throws Exception {
        Path dir = tmp.resolve("keys");
        KeyId old;
        KeyId rotated;
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE, CLOCK)) {
            old = keys.activeKeyId();
            String oldPrivate = keys.keys().get(0).privateKeyFile().orElseThrow();
            KeyInfo info = keys.rotate();
            rotated = info.id();
            assertNotEquals(old, rotated);
            assertEquals(rotated, keys.signer().keyId());
            assertFalse(Files.exists(dir.resolve(oldPrivate)), "the retired private key is deleted");
        }
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            assertEquals(rotated, keys.activeKeyId());
            List<KeyInfo> listed = keys.keys();
            assertEquals(List.of(old, rotated), listed.stream().map(KeyInfo::id).toList());
            assertEquals(new KeyInfo(old, CLOCK.instant(), false, old.hex() + ".pub.pem", Optional.empty()),
                    listed.get(0));
            assertEquals(old, keys.publicKey(old).keyId(), "old seals can still be verified");
        }
        String index = Files.readString(dir.resolve("keys.json"));
        assertTrue(index.contains("\"active\" : false") && index.contains("\"privateKey\" : null"), index);
    }

    @Test
    void importsPlainAndEncryptedPrivateKeyPems() throws Exception {
        KeyPair pkcs8 = p256();
        // As openssl writes it: curve parameters inside the EC PRIVATE KEY structure (Bouncy Castle's encoding).
        KeyPair traditional = PrivateKeys.generateP256();
        KeyPair encrypted = p256();
        String plainPkcs8 = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pkcs8.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        StringWriter ecPrivateKey = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(ecPrivateKey)) {
            writer.writeObject(traditional); // "-----BEGIN EC PRIVATE KEY-----"
        }
        String encryptedPkcs8 = PrivateKeys.encryptedPem(encrypted.getPrivate(), "other".toCharArray());

        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), PASSPHRASE)) {
            assertEquals(PublicKeyPem.of(pkcs8.getPublic()).keyId(), keys.importKey(plainPkcs8, null).id());
            assertTrue(ecPrivateKey.toString().startsWith("-----BEGIN EC PRIVATE KEY-----"));
            assertEquals(PublicKeyPem.of(traditional.getPublic()).keyId(),
                    keys.importKey(ecPrivateKey.toString(), null).id());
            assertEquals(PublicKeyPem.of(encrypted.getPublic()).keyId(),
                    keys.importKey(encryptedPkcs8, "other".toCharArray()).id());
            assertEquals(PublicKeyPem.of(encrypted.getPublic()).keyId(), keys.signer().keyId());
            assertEquals(4, keys.keys().size());

            KeyException wrong = assertThrows(KeyException.class,
                    () -> keys.importKey(PrivateKeys.encryptedPem(p256().getPrivate(), "a".toCharArray()),
                            "b".toCharArray()));
            assertEquals("cannot decrypt the private key: wrong passphrase or damaged file", wrong.getMessage());
        }
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), PASSPHRASE)) {
            assertEquals(PublicKeyPem.of(encrypted.getPublic()).keyId(), keys.activeKeyId(),
                    "the imported key is stored encrypted with the directory's passphrase");
        }
    }

    @Test
    void onlyP256KeysCanBeImported() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp384r1"));
        String p384 = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(
                        generator.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), PASSPHRASE)) {
            KeyException e = assertThrows(KeyException.class, () -> keys.importKey(p384, null));
            assertEquals("only ECDSA P-256 keys can be imported: Cloister signs with P-256 / SHA-256",
                    e.getMessage());
        }
    }

    @Test
    void refusesAPrivateKeyFileOthersCanRead() throws Exception {
        Path dir = tmp.resolve("keys");
        Path privateKey;
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            privateKey = dir.resolve(keys.keys().get(0).privateKeyFile().orElseThrow());
        }
        Files.setPosixFilePermissions(privateKey, PosixFilePermissions.fromString("rw-r--r--"));
        KeyException e = assertThrows(KeyException.class, () -> HostKeys.open(dir, PASSPHRASE));
        assertEquals("private key file " + privateKey.getFileName()
                + " is accessible to others (mode rw-r--r--); expected rw-------", e.getMessage());
    }

    @Test
    void anEmptyPassphraseIsRefused() {
        KeyException e = assertThrows(KeyException.class, () -> HostKeys.open(tmp.resolve("k"), new char[0]));
        assertEquals("a non-empty passphrase is required to protect the host's private key", e.getMessage());
    }

    @Test
    void toStringShowsNoKeyMaterialOrPassphrase() throws Exception {
        Path dir = tmp.resolve("keys");
        try (HostKeys keys = HostKeys.open(dir, PASSPHRASE)) {
            String privatePem = Files.readString(dir.resolve(keys.keys().get(0).privateKeyFile().orElseThrow()));
            String secretBody = privatePem.lines().skip(1).findFirst().orElseThrow();
            for (String text : List.of(keys.toString(), keys.signer().toString(), keys.keys().toString())) {
                assertFalse(text.contains(new String(PASSPHRASE)), text);
                assertFalse(text.contains("PRIVATE"), text);
                assertFalse(text.contains(secretBody), text);
            }
            assertEquals("Signer[keyId=" + keys.activeKeyId() + "]", keys.signer().toString());
        }
    }

    private static KeyPair p256() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }
}
