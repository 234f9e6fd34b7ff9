package dev.cloister.auth;

import dev.cloister.files.AtomicFiles;
import dev.cloister.keys.PublicKeyPem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Set;

/**
 * The key that signs API tokens (ES256), separate from the host's model-signing key: a leaked token key lets someone
 * call the API, never forge a seal. Generated on the service's first start as {@code issuer-key.pem} (PKCS#8, mode
 * 0600, in a 0700 directory) with {@code issuer.pub.pem} beside it; administrators issue tokens with the private
 * key file ({@code cloister token issue}), never through the API. {@link #toString()} never shows key material.
 */
public final class IssuerKey {

    static final String PRIVATE_FILE = "issuer-key.pem";
    static final String PUBLIC_FILE = "issuer.pub.pem";
    private static final int MAX_PEM_CHARS = 16 * 1024;

    private final KeyPair pair;
    private final PublicKeyPem publicPem;

    private IssuerKey(KeyPair pair) {
        this.pair = pair;
        this.publicPem = PublicKeyPem.of(pair.getPublic());
    }

    /** Opens the key in {@code dir}, generating it first when the directory holds none. */
    public static IssuerKey openOrCreate(Path dir) throws IOException {
        if (Files.exists(dir.resolve(PRIVATE_FILE), LinkOption.NOFOLLOW_LINKS)) {
            return open(dir.resolve(PRIVATE_FILE));
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        KeyPair pair = generate();
        IssuerKey key = new IssuerKey(pair);
        // Public half first: a crash in between leaves no private key, and the next start generates both again.
        AtomicFiles.write(dir.resolve(PUBLIC_FILE), key.publicPem.text().getBytes(StandardCharsets.US_ASCII));
        AtomicFiles.write(dir.resolve(PRIVATE_FILE), pem(pair.getPrivate()).getBytes(StandardCharsets.US_ASCII),
                AtomicFiles.OWNER_ONLY);
        return key;
    }

    /**
     * Opens an existing private key file; its public key is read from {@code issuer.pub.pem} beside it and must be
     * the private key's own. Refuses a file that others can read.
     */
    public static IssuerKey open(Path privateFile) throws IOException {
        if (Files.isSymbolicLink(privateFile)) {
            throw new IOException(privateFile + " is a symlink; keep the issuer key as a regular file");
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(privateFile, LinkOption.NOFOLLOW_LINKS);
        if (!AtomicFiles.OWNER_ONLY.containsAll(mode)) {
            throw new IOException("issuer key " + privateFile + " is readable by others: chmod 600 it");
        }
        Path publicFile = privateFile.toAbsolutePath().resolveSibling(PUBLIC_FILE);
        try {
            PrivateKey priv = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der(
                    read(privateFile), "PRIVATE KEY")));
            PublicKey pub = PublicKeyPem.parse(read(publicFile)).publicKey();
            KeyPair pair = new KeyPair(pub, priv);
            requireMatching(pair);
            return new IssuerKey(pair);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("issuer key " + privateFile + " cannot be read: " + e.getMessage());
        }
    }

    public PublicKey publicKey() {
        return pair.getPublic();
    }

    /** Package-private: only {@link TokenIssuer} signs with it. */
    PrivateKey privateKey() {
        return pair.getPrivate();
    }

    /** The key id tokens carry as {@code kid}: the hex SHA-256 of the public key's PEM (like the host keys' ids). */
    public String keyId() {
        return publicPem.keyId().hex();
    }

    /** The public key's PEM text. */
    public String publicPem() {
        return publicPem.text();
    }

    @Override
    public String toString() {
        return "IssuerKey[" + keyId() + "]";
    }

    /** A fresh P-256 key pair (ES256). */
    static KeyPair generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 is not available", e);
        }
    }

    private static void requireMatching(KeyPair pair) throws GeneralSecurityException {
        byte[] probe = new byte[32];
        new SecureRandom().nextBytes(probe);
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(pair.getPrivate());
        s.update(probe);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(pair.getPublic());
        v.update(probe);
        if (!v.verify(sig)) {
            throw new GeneralSecurityException(PUBLIC_FILE + " is not the public key of this private key");
        }
    }

    private static String read(Path file) throws IOException {
        if (Files.size(file) > MAX_PEM_CHARS) {
            throw new IOException(file + " is larger than " + MAX_PEM_CHARS + " bytes");
        }
        return Files.readString(file, StandardCharsets.US_ASCII);
    }

    private static String pem(PrivateKey key) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded());
        return "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n";
    }

    private static byte[] der(String pem, String type) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("no '" + begin + "' block");
        }
        return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
    }
}
