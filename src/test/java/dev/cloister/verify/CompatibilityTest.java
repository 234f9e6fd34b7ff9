package dev.cloister.verify;

import dev.cloister.digest.Digest;
import dev.cloister.keys.KeyId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Cloister's verifier against the reference vectors in ../shared/test-vectors: bundles written by the OpenSSF
 * model-signing tool v1.1.0 and by the OMS v1.0 specification (P-384 key, so SHA-384 signatures).
 */
class CompatibilityTest {

    /** The hint of every key-based vector: SHA-256 of the canonical PEM of signing-key-pub.pem. */
    private static final KeyId REFERENCE_KEY = KeyId.parse(
            "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
    /** SHA-256 over the raw SHA-256 digests of signme-1 and signme-2. */
    private static final Digest REFERENCE_ROOT = new Digest(
            "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4");

    private final ModelVerifier verifier = new ModelVerifier();

    @TempDir
    Path tmp;

    private static String referenceKey() throws Exception {
        return Files.readString(TestVectors.file("model-signing-v1.1.0/signing-key-pub.pem"));
    }

    private static Path referenceModel() {
        return TestVectors.file("model-signing-v1.1.0/model");
    }

    @Test
    void acceptsTheModelSignedByTheReferenceTool() throws Exception {
        VerifiedModel verified = verifier.verify(referenceModel(), referenceKey(), "ignore-me");
        assertEquals(new VerifiedModel("v1.1.0-elliptic-key", REFERENCE_ROOT, 2, REFERENCE_KEY), verified);
    }

    @Test
    void theReferenceModelsExcludedFileCountsUnlessIgnored() throws Exception {
        List<String> reasons = assertThrows(VerificationException.class,
                () -> verifier.verify(referenceModel(), referenceKey())).reasons();
        assertEquals(List.of("file added (not in the signed manifest): ignore-me"), reasons);
    }

    /**
     * key.bundle.json signs a model named "model" whose two resources, signme-1 and signme-2, have exactly the
     * digests of the reference model's files. So this is a full check: signature (P-384/SHA-384), statement, and
     * every file digest compared with those files on disk; model.sig and ignore-me are ignored there.
     */
    @Test
    void acceptsTheSpecificationsKeyBasedBundleAgainstTheFilesItNames() throws Exception {
        Path bundle = TestVectors.file("oms-v1.0/valid/key.bundle.json");
        VerifiedModel verified = verifier.verify(referenceModel(), bundle, referenceKey(), "ignore-me", "model.sig");
        assertEquals(new VerifiedModel("model", REFERENCE_ROOT, 2, REFERENCE_KEY), verified);
    }

    @Test
    void theSpecificationsKeyBasedBundleReallyComparesFileDigests() throws Exception {
        Path copy = tmp.resolve("model");
        Files.createDirectories(copy);
        Files.writeString(copy.resolve("signme-1"), "signme-1\n");
        Files.writeString(copy.resolve("signme-2"), "tampered\n");
        Path bundle = TestVectors.file("oms-v1.0/valid/key.bundle.json");
        List<String> reasons = assertThrows(VerificationException.class,
                () -> verifier.verify(copy, bundle, referenceKey())).reasons();
        assertEquals(List.of("file modified: signme-2"), reasons);
    }

    @Test
    void certificateBasedBundlesAreOutOfScopeAndSaySo() throws Exception {
        for (String name : List.of("certificate.bundle.json", "sigstore.bundle.json")) {
            byte[] bundle = Files.readAllBytes(TestVectors.file("oms-v1.0/valid/" + name));
            List<String> reasons = assertThrows(VerificationException.class,
                    () -> verifier.verifyStatementBundle(bundle, referenceKey(),
                            "https://model_signing/signature/v1.0"), name).reasons();
            assertEquals(List.of("the bundle is signed with a certificate, not a public key: only key-based "
                    + "bundles are accepted"), reasons, name);
        }
    }

    @Test
    void rejectsEveryInvalidVectorWithAReason() throws Exception {
        String signatureFails = "the DSSE signature does not verify with public key " + REFERENCE_KEY
                + ": the payload or signature was altered, or another key signed it";
        Map<String, List<String>> expected = Map.of(
                "invalid/empty.bundle.json", List.of("the bundle is empty"),
                "invalid/missing-envelope.bundle.json", List.of("the bundle holds no DSSE envelope"),
                // A keyless bundle without its Rekor entry; Cloister refuses it earlier, for the certificate.
                "invalid/missing-tlog-entries.bundle.json", List.of("the bundle is signed with a certificate, not "
                        + "a public key: only key-based bundles are accepted"),
                "invalid/missing-verification-material.bundle.json",
                List.of("the bundle has no verification material"),
                // Its payload names a wrong predicate type but carries key.bundle.json's signature, so the
                // signature check fails first and the unverified predicate is never read.
                "invalid-payload/wrong-predicate.bundle.json", List.of(signatureFails));

        Map<String, List<String>> actual = new TreeMap<>();
        for (String dir : List.of("invalid", "invalid-payload")) {
            try (Stream<Path> files = Files.list(TestVectors.file("oms-v1.0/" + dir))) {
                for (Path file : files.sorted().toList()) {
                    VerificationException e = assertThrows(VerificationException.class,
                            () -> verifier.verify(referenceModel(), file, referenceKey(), "ignore-me", "model.sig"),
                            file.toString());
                    actual.put(dir + "/" + file.getFileName(), e.reasons());
                }
            }
        }
        assertEquals(new TreeMap<>(expected), actual);
    }
}
