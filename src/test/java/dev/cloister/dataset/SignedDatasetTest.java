package dev.cloister.dataset;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static dev.cloister.dataset.SigstoreVectors.ARTIFACT;
import static dev.cloister.dataset.SigstoreVectors.BUNDLE_DSSE;
import static dev.cloister.dataset.SigstoreVectors.BUNDLE_V2;
import static dev.cloister.dataset.SigstoreVectors.BUNDLE_V3;
import static dev.cloister.dataset.SigstoreVectors.DSSE_BAD_SIGNATURE;
import static dev.cloister.dataset.SigstoreVectors.MISMATCHED_SET;
import static dev.cloister.dataset.SigstoreVectors.bundle;
import static dev.cloister.dataset.SigstoreVectors.requirementFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registration of signed datasets, verified offline with the public-good keyless vectors. */
class SignedDatasetTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-05-01T00:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path root;

    private DatasetRegistry registry() {
        return new DatasetRegistry(root, CLOCK);
    }

    private static Map<String, SignatureRequirement> only(SignatureRequirement r) {
        return Map.of("signed", r);
    }

    private DatasetException refused(String name, String bundleJson, Map<String, SignatureRequirement> candidates) {
        DatasetException e = assertThrows(DatasetException.class, () -> registry().register(name, "test", bundleJson, candidates));
        assertEquals(DatasetException.Kind.INVALID, e.kind());
        assertEquals("signature", e.field());
        return e;
    }

    @Test
    void messageSignatureBundlesRegisterWithTheSignerOfTheLeafCertificate() throws Exception {
        for (String vector : List.of(BUNDLE_V2, BUNDLE_V3)) {
            SigstoreVectors.datasetWithArtifact(root, "signed-" + vector.replace('.', '-'));
            SigstoreVectors.Signer expected = SigstoreVectors.signer(vector);
            assertEquals("appu@google.com", expected.identity(), "the vectors' leaf certificate");
            assertEquals("https://accounts.google.com", expected.issuer());

            Dataset d = registry().register("signed-" + vector.replace('.', '-'), "test", bundle(vector),
                    only(requirementFor(vector)));

            DatasetSignature s = d.signature();
            assertEquals(expected.identity(), s.identity(), vector);
            assertEquals(expected.issuer(), s.issuer(), vector);
            assertEquals(ARTIFACT, s.signedFile());
            assertEquals(DatasetSignature.Source.REQUEST, s.source());
            assertEquals(1, d.files());
            assertTrue(!s.toString().contains("verificationMaterial"), "the bundle is not printed: " + s);
        }
    }

    @Test
    void dsseBundleFromACiWorkflowRegisters() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "ci");
        Dataset d = registry().register("ci", "test", bundle(BUNDLE_DSSE), only(requirementFor(BUNDLE_DSSE)));
        assertEquals(SigstoreVectors.signer(BUNDLE_DSSE).identity(), d.signature().identity());
        assertTrue(d.signature().identity().startsWith("https://github.com/"), d.signature().identity());
    }

    @Test
    void bundleBesideTheDatasetIsUsedWhenTheRequestHasNone() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "beside");
        Files.writeString(root.resolve("beside" + DatasetRegistry.BUNDLE_SUFFIX), bundle(BUNDLE_V3));

        Dataset d = registry().register("beside", "test", null, only(requirementFor(BUNDLE_V3)));

        assertEquals(DatasetSignature.Source.BESIDE_DATA, d.signature().source());
        assertEquals("appu@google.com", d.signature().identity());
        assertEquals(1, d.files(), "the bundle is beside the data, not part of it");
    }

    @Test
    void requestBundleTakesPrecedenceOverTheFileBesideTheData() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "both");
        Files.writeString(root.resolve("both" + DatasetRegistry.BUNDLE_SUFFIX), "not a bundle");
        Dataset d = registry().register("both", "test", bundle(BUNDLE_V2), only(requirementFor(BUNDLE_V2)));
        assertEquals(DatasetSignature.Source.REQUEST, d.signature().source());
    }

    @Test
    void wrongIdentityIsRefusedNamingTheSigner() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        SignatureRequirement ci = new SignatureRequirement(List.of("https://github.com/acme/data/.github/workflows/sign.yml@refs/heads/main"),
                List.of("https://accounts.google.com"), SigstoreVectors.trustedRoot());

        DatasetException e = refused("data", bundle(BUNDLE_V2), only(ci));

        assertTrue(e.getMessage().contains("signed by 'appu@google.com' (issuer 'https://accounts.google.com')"), e.getMessage());
        assertTrue(e.getMessage().contains("the identity does not match"), e.getMessage());
        assertTrue(registry().find("data").isEmpty());
    }

    @Test
    void wrongIssuerIsRefused() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        SignatureRequirement r = new SignatureRequirement(List.of("appu@google.com"),
                List.of("https://token.actions.githubusercontent.com"), SigstoreVectors.trustedRoot());
        assertTrue(refused("data", bundle(BUNDLE_V2), only(r)).getMessage().contains("the issuer does not match"));
    }

    @Test
    void bundleWithMismatchedSetIsRefused() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        DatasetException e = refused("data", bundle(MISMATCHED_SET), only(requirementFor(MISMATCHED_SET)));
        assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
        assertTrue(e.getMessage().contains("SET"), e.getMessage());
    }

    @Test
    void dsseBundleWithBadSignatureIsRefused() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        DatasetException e = refused("data", bundle(DSSE_BAD_SIGNATURE), only(requirementFor(DSSE_BAD_SIGNATURE)));
        assertTrue(e.getMessage().contains("does not verify") && e.getMessage().contains("signature was not valid"),
                e.getMessage());
    }

    @Test
    void tamperedArtifactIsRefused() throws Exception {
        Path dir = SigstoreVectors.datasetWithArtifact(root, "data");
        Files.writeString(dir.resolve(ARTIFACT), "tampered\n", java.nio.file.StandardOpenOption.APPEND);
        DatasetException e = refused("data", bundle(BUNDLE_V2), only(requirementFor(BUNDLE_V2)));
        assertTrue(e.getMessage().contains("does not verify") && e.getMessage().contains("digest"), e.getMessage());
        assertTrue(!e.getMessage().contains("DO NOT MODIFY"), "no dataset content in the reason: " + e.getMessage());
    }

    @Test
    void aSignatureIsVerifiedNeverIgnored() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        assertTrue(refused("data", bundle(BUNDLE_V2), Map.of()).getMessage()
                .contains("no policy sets requireDatasetSignature"));
        Files.writeString(root.resolve("data" + DatasetRegistry.BUNDLE_SUFFIX), bundle(BUNDLE_V2));
        DatasetException e = assertThrows(DatasetException.class, () -> registry().register("data", "test"));
        assertTrue(e.getMessage().contains("data.sigstore.json"), e.getMessage());
    }

    @Test
    void garbageIsNotABundle() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        assertTrue(refused("data", "{\"mediaType\":\"nope\"}", only(requirementFor(BUNDLE_V2))).getMessage()
                .contains("not a Sigstore bundle"));
        assertTrue(refused("data", "x".repeat(SigstoreCheck.MAX_BUNDLE_CHARS + 1), only(requirementFor(BUNDLE_V2)))
                .getMessage().contains("larger than"));
    }

    @Test
    void anyOneAcceptingPolicyIsEnoughAndEveryRefusalIsListed() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        SignatureRequirement other = new SignatureRequirement(List.of("someone@example.com"),
                List.of("https://accounts.google.com"), SigstoreVectors.trustedRoot());
        Map<String, SignatureRequirement> both = new java.util.TreeMap<>(Map.of("a-other", other,
                "b-right", requirementFor(BUNDLE_V2)));
        assertEquals("appu@google.com", registry().register("data", "test", bundle(BUNDLE_V2), both).signature().identity());

        DatasetException e = refused("data", bundle(BUNDLE_V2), Map.of("a-other", other, "c-other", other));
        assertTrue(e.getMessage().contains("policy 'a-other'") && e.getMessage().contains("policy 'c-other'"),
                e.getMessage());
    }

    @Test
    void severalFilesNeedAManifest() throws Exception {
        Path dir = SigstoreVectors.datasetWithArtifact(root, "data");
        Files.writeString(dir.resolve("more.csv"), "a,b\n");
        assertTrue(refused("data", bundle(BUNDLE_V2), only(requirementFor(BUNDLE_V2))).getMessage()
                .contains("has 2 files and no MANIFEST.sha256"));
    }

    @Test
    void manifestIsWhatTheBundleMustSign() throws Exception {
        Path dir = SigstoreVectors.datasetWithArtifact(root, "data");
        Files.writeString(dir.resolve("more.csv"), "a,b\n");
        String manifest = sha256(dir.resolve(ARTIFACT)) + "  " + ARTIFACT + "\n"
                + sha256(dir.resolve("more.csv")) + "  ./more.csv\n";
        Files.writeString(dir.resolve(SignedContent.MANIFEST), manifest);

        // The manifest matches the files, so verification reaches the signature: the bundle signs artifact.txt, not
        // this manifest, and the reason names the manifest's digest as the one provided.
        DatasetException e = refused("data", bundle(BUNDLE_V2), only(requirementFor(BUNDLE_V2)));
        assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
        assertTrue(e.getMessage().contains(dev.cloister.digest.Digest.of(manifest).hex()), e.getMessage());
    }

    @Test
    void manifestMismatchIsRefusedBeforeTheSignature() throws Exception {
        Path dir = SigstoreVectors.datasetWithArtifact(root, "data");
        Files.writeString(dir.resolve("extra.csv"), "x\n");
        Files.writeString(dir.resolve(SignedContent.MANIFEST), "0".repeat(64) + "  " + ARTIFACT + "\n"
                + "1".repeat(64) + "  gone.csv\n");
        DatasetException e = refused("data", bundle(BUNDLE_V2), only(requirementFor(BUNDLE_V2)));
        assertTrue(e.getMessage().contains("'artifact.txt' does not match its listed digest"), e.getMessage());
        assertTrue(e.getMessage().contains("'gone.csv' is listed but not in the dataset"), e.getMessage());
        assertTrue(e.getMessage().contains("'extra.csv' is in the dataset but not listed"), e.getMessage());
    }

    @Test
    void unsignedDatasetsStillRegister() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "plain");
        Dataset d = registry().register("plain", "test");
        assertNull(d.signature());
        assertTrue(d.signed().isEmpty());
    }

    static String sha256(Path file) throws java.io.IOException {
        return dev.cloister.digest.Digest.of(Files.readAllBytes(file)).hex();
    }
}
