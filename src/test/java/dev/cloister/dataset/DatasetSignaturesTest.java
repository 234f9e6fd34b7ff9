package dev.cloister.dataset;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import static dev.cloister.dataset.SigstoreVectors.ARTIFACT;
import static dev.cloister.dataset.SigstoreVectors.BUNDLE_V2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Verification again at admission time, over the registered bundle and the dataset's current content. */
class DatasetSignaturesTest {

    @TempDir
    Path root;

    private Dataset registered() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "data");
        return new DatasetRegistry(root, Clock.systemUTC())
                .register("data", "test", SigstoreVectors.bundle(BUNDLE_V2), Map.of("p", SigstoreVectors.requirementFor(BUNDLE_V2)));
    }

    @Test
    void registeredSignatureVerifiesAgain() throws Exception {
        DatasetSignature s = DatasetSignatures.verify(registered(), SigstoreVectors.requirementFor(BUNDLE_V2));
        assertEquals("appu@google.com", s.identity());
        assertEquals("https://accounts.google.com", s.issuer());
    }

    @Test
    void anotherPolicysIdentitiesAreCheckedAgain() throws Exception {
        SignatureRequirement other = new SignatureRequirement(List.of("ci@example.com"),
                List.of("https://accounts.google.com"), SigstoreVectors.trustedRoot());
        DatasetException e = assertThrows(DatasetException.class, () -> DatasetSignatures.verify(registered(), other));
        assertTrue(e.getMessage().contains("signed by 'appu@google.com'"), e.getMessage());
    }

    @Test
    void changedContentIsRefused() throws Exception {
        Dataset d = registered();
        Files.writeString(d.directory().resolve(ARTIFACT), "tampered after registration\n");
        DatasetException e = assertThrows(DatasetException.class,
                () -> DatasetSignatures.verify(d, SigstoreVectors.requirementFor(BUNDLE_V2)));
        assertTrue(e.getMessage().contains("changed since it was registered"), e.getMessage());
    }

    @Test
    void unsignedDatasetIsRefused() throws Exception {
        SigstoreVectors.datasetWithArtifact(root, "plain");
        Dataset d = new DatasetRegistry(root, Clock.systemUTC()).register("plain", "test");
        DatasetException e = assertThrows(DatasetException.class,
                () -> DatasetSignatures.verify(d, SigstoreVectors.requirementFor(BUNDLE_V2)));
        assertTrue(e.getMessage().contains("registered without a signature"), e.getMessage());
    }
}
