package dev.cloister.dataset;

import dev.cloister.digest.Digest;
import dev.sigstore.KeylessVerifier;
import dev.sigstore.trustroot.SigstoreConfigurationException;
import dev.sigstore.trustroot.SigstoreTrustedRoot;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.GeneralSecurityException;

/**
 * A Sigstore trusted root (the protobuf-specs {@code TrustedRoot} JSON: Fulcio CAs, Rekor and CT log keys, TSAs)
 * read from a file kept beside the policies, and the offline verifier built on it. Nothing is fetched: the file is
 * the whole trust, reviewed like the policy that names it.
 */
public final class TrustedRoot {

    /** Real trusted roots are a few kilobytes; anything far larger is not one. */
    static final int MAX_BYTES = 1 << 20;

    private final String name;
    private final Digest digest;
    private final KeylessVerifier verifier;

    private TrustedRoot(String name, Digest digest, KeylessVerifier verifier) {
        this.name = name;
        this.digest = digest;
        this.verifier = verifier;
    }

    /**
     * Reads and checks a trusted root file.
     *
     * @param name how the policy names the file (e.g. {@code trusted-roots/public-good.json}), for messages
     * @throws IllegalArgumentException with the reason when the file is missing, too large or not a trusted root
     *                                  with at least one certificate authority and one transparency log
     */
    public static TrustedRoot read(String name, Path file) {
        if (Files.isSymbolicLink(file)) {
            throw new IllegalArgumentException("trusted root '" + name + "' is a symlink; keep the reviewed file itself "
                    + "beside the policies");
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("trusted root '" + name + "' is not a regular file at " + file);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new IllegalArgumentException("trusted root '" + name + "' cannot be read: " + e.getMessage());
        }
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("trusted root '" + name + "' is larger than " + MAX_BYTES + " bytes");
        }
        return of(name, bytes);
    }

    /** Parses trusted root JSON; see {@link #read(String, Path)}. */
    public static TrustedRoot of(String name, byte[] json) {
        SigstoreTrustedRoot root;
        try {
            root = SigstoreTrustedRoot.from(new ByteArrayInputStream(json));
        } catch (SigstoreConfigurationException | RuntimeException e) {
            throw new IllegalArgumentException("trusted root '" + name + "' is not a Sigstore trusted root: "
                    + SigstoreCheck.reason(e));
        }
        if (root.getCAs().isEmpty() || root.getTLogs().isEmpty()) {
            throw new IllegalArgumentException("trusted root '" + name + "' must list at least one certificate "
                    + "authority and one transparency log (keyless signatures need both)");
        }
        try {
            // The same as TrustedRootProvider.from(file), but over the bytes just read and digested.
            KeylessVerifier verifier = KeylessVerifier.builder().trustedRootProvider(() -> root).build();
            return new TrustedRoot(name, Digest.of(json), verifier);
        } catch (GeneralSecurityException | SigstoreConfigurationException | RuntimeException e) {
            throw new IllegalArgumentException("trusted root '" + name + "' cannot be used: " + SigstoreCheck.reason(e));
        }
    }

    /** The file as the policy names it. */
    public String name() {
        return name;
    }

    /** SHA-256 of the file's exact bytes. */
    public Digest digest() {
        return digest;
    }

    KeylessVerifier verifier() {
        return verifier;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrustedRoot t && t.name.equals(name) && t.digest.equals(digest);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + digest.hashCode();
    }

    @Override
    public String toString() {
        return name + " (" + digest + ")";
    }
}
