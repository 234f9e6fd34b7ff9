package dev.cloister.keys;

import dev.cloister.files.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The host's signing keys in one directory: an ECDSA P-256 key pair is generated on first use; the private key is
 * stored as encrypted PKCS#8 PEM (mode 0600), the public key as canonical PEM; {@code keys.json} lists every key.
 * Rotation makes a new key active, keeps the old public keys listed (old seals still verify) and deletes the old
 * private key. Callers sign through {@link #signer()} and never see the private key.
 */
public final class HostKeys implements AutoCloseable {

    private static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwx------");
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private final Path dir;
    private final Clock clock;
    private char[] passphrase;
    private List<KeyInfo> keys;
    private EcSigner active;
    private KeyInfo generatedOnOpen;

    private HostKeys(Path dir, char[] passphrase, Clock clock) {
        this.dir = dir;
        this.passphrase = passphrase.clone();
        this.clock = clock;
    }

    /** Opens the key directory {@code dir}, creating it and a first key if it has no index yet. */
    public static HostKeys open(Path dir, char[] passphrase) throws KeyException {
        return open(dir, passphrase, Clock.systemUTC());
    }

    /** As {@link #open(Path, char[])}, with the clock that stamps new keys' creation time. */
    public static HostKeys open(Path dir, char[] passphrase, Clock clock) throws KeyException {
        if (passphrase == null || passphrase.length == 0) {
            throw new KeyException("a non-empty passphrase is required to protect the host's private key");
        }
        HostKeys hostKeys = new HostKeys(dir.toAbsolutePath().normalize(), passphrase, clock);
        try {
            hostKeys.load();
        } catch (KeyException | RuntimeException e) {
            hostKeys.close();
            throw e;
        }
        return hostKeys;
    }

    /** Signs with the active key. */
    public synchronized Signer signer() {
        return active;
    }

    /** The active key's id. */
    public synchronized KeyId activeKeyId() {
        return active.keyId();
    }

    /** The key that opening generated because the directory had none yet (so that it can be audited). */
    public synchronized Optional<KeyInfo> generatedOnOpen() {
        return Optional.ofNullable(generatedOnOpen);
    }

    /** Every key in the directory, oldest first; exactly one is active. */
    public synchronized List<KeyInfo> keys() {
        return keys;
    }

    /** The public key of any listed key, active or retired, checked against its id. */
    public synchronized PublicKeyPem publicKey(KeyId id) throws KeyException {
        KeyInfo info = keys.stream().filter(k -> k.id().equals(id)).findFirst()
                .orElseThrow(() -> new KeyException("no key " + id + " in " + dir));
        return readPublicKey(info);
    }

    /** Generates a new P-256 key and makes it active; the previous key is retired. */
    public synchronized KeyInfo rotate() throws KeyException {
        requireOpen();
        return install(generate());
    }

    /**
     * Imports an existing P-256 private key PEM (PKCS#8 or traditional OpenSSL, plain or encrypted with
     * {@code pemPassphrase}, which may be null for a plain key), stores it encrypted with the directory's passphrase
     * and makes it active.
     */
    public synchronized KeyInfo importKey(String privateKeyPem, char[] pemPassphrase) throws KeyException {
        requireOpen();
        var pair = PrivateKeys.read(privateKeyPem, pemPassphrase);
        if (!PrivateKeys.isP256(pair.getPrivate())) {
            throw new KeyException("only ECDSA P-256 keys can be imported: Cloister signs with P-256 / SHA-256");
        }
        EcSigner signer = new EcSigner(pair.getPrivate(), PublicKeyPem.of(pair.getPublic()));
        for (KeyInfo key : keys) {
            if (key.id().equals(signer.keyId())) {
                if (key.active()) {
                    return key;
                }
                throw new KeyException("key " + key.id() + " is already listed as retired; it cannot be reactivated");
            }
        }
        return install(signer);
    }

    /** Wipes this object's copy of the passphrase; the current signer keeps working. */
    @Override
    public synchronized void close() {
        if (passphrase != null) {
            Arrays.fill(passphrase, '\0');
            passphrase = null;
        }
    }

    @Override
    public synchronized String toString() {
        return "HostKeys[dir=" + dir + ", active=" + (active == null ? "none" : active.keyId()) + "]";
    }

    private void load() throws KeyException {
        Path index = dir.resolve(KeyIndex.FILE_NAME);
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
                Files.setPosixFilePermissions(dir, DIRECTORY_MODE); // whatever the umask
            }
            if (!Files.exists(index, LinkOption.NOFOLLOW_LINKS)) {
                keys = List.of();
                generatedOnOpen = install(generate());
                return;
            }
            keys = KeyIndex.read(readCapped(index));
        } catch (IOException e) {
            throw new KeyException("cannot open the key directory " + dir + ": " + e.getMessage(), e);
        }
        KeyInfo info = keys.stream().filter(KeyInfo::active).findFirst().orElseThrow();
        Path privateFile = dir.resolve(info.privateKeyFile().orElseThrow());
        requireOwnerOnly(privateFile);
        var pair = PrivateKeys.read(new String(readCappedOrFail(privateFile), StandardCharsets.US_ASCII), passphrase);
        PublicKeyPem listed = readPublicKey(info);
        if (!PublicKeyPem.of(pair.getPublic()).equals(listed)) {
            throw new KeyException("the private key in " + privateFile.getFileName()
                    + " does not belong to the active public key " + info.id());
        }
        active = new EcSigner(pair.getPrivate(), listed);
    }

    /** Writes the new key's files, then the index naming it active, then deletes retired private keys. */
    private KeyInfo install(EcSigner signer) throws KeyException {
        KeyId id = signer.keyId();
        KeyInfo info = new KeyInfo(id, clock.instant().truncatedTo(ChronoUnit.SECONDS), true, id.hex() + ".pub.pem",
                Optional.of(id.hex() + ".key.pem"));
        List<KeyInfo> next = new ArrayList<>();
        List<Path> retiredPrivateKeys = new ArrayList<>();
        for (KeyInfo key : keys) {
            key.privateKeyFile().ifPresent(f -> retiredPrivateKeys.add(dir.resolve(f)));
            next.add(new KeyInfo(key.id(), key.created(), false, key.publicKeyFile(), Optional.empty()));
        }
        next.add(info);
        try {
            AtomicFiles.write(dir.resolve(info.publicKeyFile()), signer.publicKeyPem().getBytes(StandardCharsets.US_ASCII),
                    AtomicFiles.WORLD_READABLE);
            AtomicFiles.write(dir.resolve(info.privateKeyFile().orElseThrow()),
                    PrivateKeys.encryptedPem(signer.privateKey(), passphrase)
                            .getBytes(StandardCharsets.US_ASCII),
                    AtomicFiles.OWNER_ONLY);
            AtomicFiles.write(dir.resolve(KeyIndex.FILE_NAME), KeyIndex.write(next), AtomicFiles.WORLD_READABLE);
            for (Path retired : retiredPrivateKeys) {
                Files.deleteIfExists(retired);
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw new KeyException("cannot store key " + id + " in " + dir + ": " + e.getMessage(), e);
        }
        keys = List.copyOf(next);
        active = signer;
        return info;
    }

    private static EcSigner generate() {
        KeyPair pair = PrivateKeys.generateP256();
        return new EcSigner(pair.getPrivate(), PublicKeyPem.of(pair.getPublic()));
    }

    private PublicKeyPem readPublicKey(KeyInfo info) throws KeyException {
        Path file = dir.resolve(info.publicKeyFile());
        PublicKeyPem pem;
        try {
            pem = PublicKeyPem.parse(new String(readCappedOrFail(file), StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new KeyException("public key file " + file.getFileName() + " is damaged: " + e.getMessage(), e);
        }
        if (!pem.keyId().equals(info.id())) {
            throw new KeyException("public key file " + file.getFileName() + " does not hash to its id " + info.id());
        }
        return pem;
    }

    private static void requireOwnerOnly(Path file) throws KeyException {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (!AtomicFiles.OWNER_ONLY.containsAll(mode)) {
                throw new KeyException("private key file " + file.getFileName() + " is accessible to others (mode "
                        + PosixFilePermissions.toString(mode) + "); expected rw-------");
            }
        } catch (NoSuchFileException e) {
            throw new KeyException("private key file " + file.getFileName() + " is missing", e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new KeyException("cannot check the mode of " + file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    private static byte[] readCappedOrFail(Path file) throws KeyException {
        try {
            return readCapped(file);
        } catch (IOException e) {
            throw new KeyException("cannot read key file " + file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** Reads at most {@link #MAX_FILE_BYTES} without following a symbolic link. */
    private static byte[] readCapped(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] content = in.readNBytes(MAX_FILE_BYTES + 1);
            if (content.length > MAX_FILE_BYTES) {
                throw new IOException("larger than " + MAX_FILE_BYTES + " bytes");
            }
            return content;
        }
    }

    private void requireOpen() {
        if (passphrase == null) {
            throw new IllegalStateException("HostKeys is closed");
        }
    }
}
