package dev.cloister.reproduce;

import dev.cloister.digest.Digest;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ReproductionStatement;
import dev.cloister.seal.TestSigner;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReproductionVerifier;
import dev.cloister.verify.VerificationException;
import dev.cloister.verify.VerifiedModel;
import dev.cloister.keys.KeyId;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reproducibility attestation: per-file verdicts, and what --require-reproduced accepts and refuses. */
class ReproductionStatementTest {

    private static ModelManifest manifest(String... nameAndContent) {
        List<ModelManifest.Resource> r = new java.util.ArrayList<>();
        for (int i = 0; i < nameAndContent.length; i += 2) {
            r.add(new ModelManifest.Resource(nameAndContent[i], Digest.of(nameAndContent[i + 1])));
        }
        return new ModelManifest("job-1", r, List.of());
    }

    private static byte[] attest(TestSigner signer, ModelManifest original, ModelManifest rerun) {
        byte[] statement = ReproductionStatement.statement("job-1",
                new ReproductionStatement.Run("job-1", original.rootDigest(), "PUBLISHED", null),
                new ReproductionStatement.Run("job-2", rerun.rootDigest(), "SEALED", null), Map.of("seed", 42),
                ReproductionStatement.compare(original, rerun), "urn:test", Instant.EPOCH);
        return Bundles.signStatement(signer, statement);
    }

    private static VerifiedModel model(ModelManifest m, TestSigner signer) {
        return new VerifiedModel("job-1", m.rootDigest(), m.resources().size(), signer.keyId());
    }

    @Test
    void identicalFilesVerifyAsReproduced() throws Exception {
        TestSigner signer = new TestSigner();
        ModelManifest m = manifest("a.txt", "a", "model.npz", "w");
        ReproductionVerifier.VerifiedReproduction v = new ReproductionVerifier(new ModelVerifier())
                .verify(attest(signer, m, manifest("a.txt", "a", "model.npz", "w")), signer.publicKeyPem(), model(m, signer));
        assertEquals("job-2", v.rerunJob());
        assertEquals(2, v.files());
    }

    @Test
    void differingMissingAndExtraFilesAreEachNamed() {
        TestSigner signer = new TestSigner();
        ModelManifest m = manifest("a.txt", "a", "gone.bin", "x", "stamp.txt", "1700000000");
        ModelManifest again = manifest("a.txt", "a", "extra.txt", "e", "stamp.txt", "1700000099");
        List<ReproductionStatement.FileResult> files = ReproductionStatement.compare(m, again);
        assertEquals(List.of("a.txt", "extra.txt", "gone.bin", "stamp.txt"),
                files.stream().map(ReproductionStatement.FileResult::path).toList());
        VerificationException e = assertThrows(VerificationException.class, () -> new ReproductionVerifier(
                new ModelVerifier()).verify(attest(signer, m, again), signer.publicKeyPem(), model(m, signer)));
        String all = String.join("\n", e.reasons());
        assertTrue(all.contains("not reproduced: stamp.txt differs (original " + Digest.of("1700000000")), all);
        assertTrue(all.contains("not reproduced: gone.bin differs (original " + Digest.of("x") + ", re-run missing)"), all);
        assertTrue(all.contains("not reproduced: extra.txt differs (original missing"), all);
        assertTrue(all.contains("verdict NOT_REPRODUCED"), all);
    }

    @Test
    void anAttestationOfAnotherModelOrByAnotherKeyIsRefused() {
        TestSigner signer = new TestSigner();
        ModelManifest m = manifest("a.txt", "a");
        byte[] bundle = attest(signer, m, manifest("a.txt", "a"));
        ModelManifest other = manifest("a.txt", "b");
        VerificationException e = assertThrows(VerificationException.class, () -> new ReproductionVerifier(
                new ModelVerifier()).verify(bundle, signer.publicKeyPem(), model(other, signer)));
        assertTrue(e.getMessage().contains("about another model"), e.getMessage());
        assertThrows(VerificationException.class, () -> new ReproductionVerifier(new ModelVerifier())
                .verify(bundle, new TestSigner().publicKeyPem(), model(m, signer)));
    }
}
