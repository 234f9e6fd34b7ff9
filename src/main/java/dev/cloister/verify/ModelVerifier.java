package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.OmsStatement;
import dev.cloister.seal.SealException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifies a sealed model offline against a pinned public key: the Sigstore bundle, the DSSE signature (hash by
 * curve: P-256→SHA-256, P-384→SHA-384, P-521→SHA-512), the OMS v1.0 statement, and every file on disk against its
 * signed digest. Returns only on success; otherwise throws {@link VerificationException} with every reason.
 */
public final class ModelVerifier {

    /** Bundles larger than this are refused unread (untrusted input is capped). */
    public static final int DEFAULT_MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

    private final int hashThreads;
    private final int maxBundleBytes;

    public ModelVerifier() {
        this(ModelManifest.DEFAULT_HASH_THREADS, DEFAULT_MAX_BUNDLE_BYTES);
    }

    public ModelVerifier(int hashThreads, int maxBundleBytes) {
        if (hashThreads < 1 || maxBundleBytes < 1) {
            throw new IllegalArgumentException("hash threads and the bundle size cap must be positive");
        }
        this.hashThreads = hashThreads;
        this.maxBundleBytes = maxBundleBytes;
    }

    /**
     * Verifies {@code modelDir} against its {@code model.sig}; {@code ignorePaths} (relative to the model root)
     * are left out in addition to the OMS defaults and {@code model.sig}.
     */
    public VerifiedModel verify(Path modelDir, String publicKeyPem, String... ignorePaths)
            throws VerificationException {
        return verify(modelDir, modelDir.resolve(ModelSigner.SIGNATURE_FILE), publicKeyPem, ignorePaths);
    }

    /**
     * Verifies {@code modelDir} against the bundle in {@code bundleFile}, which is left out of the comparison
     * when it lies inside the model directory.
     */
    public VerifiedModel verify(Path modelDir, Path bundleFile, String publicKeyPem, String... ignorePaths)
            throws VerificationException {
        PublicKeyPem key = publicKey(publicKeyPem);
        Path root = modelDir.toAbsolutePath().normalize();
        Path bundlePath = bundleFile.toAbsolutePath().normalize();
        List<String> ignore = new ArrayList<>(List.of(ignorePaths));
        if (bundlePath.startsWith(root) && !bundlePath.equals(root)) {
            ignore.add(root.relativize(bundlePath).toString().replace(bundlePath.getFileSystem().getSeparator(), "/"));
        }

        List<String> reasons = new ArrayList<>();
        byte[] payload = SignedBundle.verifiedPayload(readBundle(bundlePath), key, reasons);
        JsonNode statement = SignedStatement.read(payload, OmsStatement.PREDICATE_TYPE, reasons);
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        SignedStatement.ModelClaims claims = SignedStatement.modelClaims(statement, reasons);

        ModelManifest onDisk;
        try {
            onDisk = ModelManifest.hash(root, ignore, hashThreads);
        } catch (SealException e) {
            reasons.addAll(e.problems());
            throw new VerificationException(reasons);
        }
        FileComparison.compare(claims, onDisk, reasons);
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        return new VerifiedModel(claims.subjectName(), onDisk.rootDigest(), onDisk.resources().size(), key.keyId());
    }

    /**
     * Verifies a bundle holding any in-toto statement (such as the SLSA provenance) and returns the verified
     * statement JSON bytes; the statement must have {@code expectedPredicateType}.
     */
    public byte[] verifyStatementBundle(byte[] bundleBytes, String publicKeyPem, String expectedPredicateType)
            throws VerificationException {
        PublicKeyPem key = publicKey(publicKeyPem);
        if (bundleBytes.length > maxBundleBytes) {
            throw new VerificationException("the bundle is larger than the " + maxBundleBytes + "-byte limit");
        }
        List<String> reasons = new ArrayList<>();
        byte[] payload = SignedBundle.verifiedPayload(bundleBytes, key, reasons);
        SignedStatement.read(payload, expectedPredicateType, reasons);
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        return payload;
    }

    @Override
    public String toString() {
        return "ModelVerifier[hashThreads=" + hashThreads + ", maxBundleBytes=" + maxBundleBytes + "]";
    }

    private static PublicKeyPem publicKey(String publicKeyPem) throws VerificationException {
        try {
            return PublicKeyPem.parse(publicKeyPem);
        } catch (IllegalArgumentException e) {
            throw new VerificationException("the public key cannot be used: " + e.getMessage(), e);
        }
    }

    private byte[] readBundle(Path bundle) throws VerificationException {
        try (InputStream in = Files.newInputStream(bundle, LinkOption.NOFOLLOW_LINKS)) {
            byte[] content = in.readNBytes(maxBundleBytes + 1);
            if (content.length > maxBundleBytes) {
                throw new VerificationException("the bundle " + bundle.getFileName() + " is larger than the "
                        + maxBundleBytes + "-byte limit");
            }
            return content;
        } catch (NoSuchFileException e) {
            throw new VerificationException("no signature bundle at " + bundle, e);
        } catch (IOException e) {
            throw new VerificationException("cannot read the bundle " + bundle + ": " + e.getMessage(), e);
        }
    }
}
