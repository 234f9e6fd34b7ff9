package dev.cloister.dataset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.digest.Digest;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.Provenance;
import dev.cloister.seal.ProvenanceFacts;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The dataset's verified signer reaches the job's SLSA provenance, as annotations of the dataset dependency. */
class SignerProvenanceTest {

    private static JsonNode datasetDependency(String signer, String issuer) throws Exception {
        ProvenanceFacts facts = new ProvenanceFacts("job-" + "0".repeat(32), "urn:cloister:host:test", "{}", "signed",
                Digest.of("policy"), "training.json", Digest.of("seccomp"), "runc", "1000:1000", Map.of(),
                "cloister/trainer-base", Digest.of("image"), "IMAGE_ID", "data", Digest.of("data"), signer, issuer,
                Instant.EPOCH, Instant.EPOCH, Instant.EPOCH);
        ModelManifest manifest = new ModelManifest("model", List.of(new ModelManifest.Resource("w.json", Digest.of("w"))),
                ModelManifest.DEFAULT_IGNORE_PATHS);
        JsonNode statement = new ObjectMapper().readTree(Provenance.statement(facts, manifest));
        for (JsonNode d : statement.path("predicate").path("buildDefinition").path("resolvedDependencies")) {
            if (d.path("uri").asText().equals(Provenance.DATASET_URI_PREFIX + "data")) {
                return d;
            }
        }
        throw new AssertionError("no dataset dependency in " + statement);
    }

    @Test
    void signerAndIssuerAnnotateTheDatasetDependency() throws Exception {
        JsonNode d = datasetDependency("appu@google.com", "https://accounts.google.com");
        assertEquals(Digest.of("data").hex(), d.path("digest").path("sha256").asText());
        assertEquals("appu@google.com", d.path("annotations").path(Provenance.DATASET_SIGNER_ANNOTATION).asText());
        assertEquals("https://accounts.google.com",
                d.path("annotations").path(Provenance.DATASET_SIGNER_ISSUER_ANNOTATION).asText());
    }

    @Test
    void unsignedDatasetHasNoAnnotations() throws Exception {
        assertFalse(datasetDependency(null, null).has("annotations"));
    }
}
