package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.job.ModelOrigin;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageProvenanceTest {

    private static final JobId JOB = new JobId("job-" + "0".repeat(32));
    private static final Instant T = Instant.parse("2025-01-02T03:04:05Z");

    static ServingImage image() {
        return new ServingImage(
                ImageReference.parse("127.0.0.1:5000/cloister/models/bc:" + JOB).withDigest(Digest.of("image")),
                ImageReference.parse("127.0.0.1:5000/cloister/serving-base@" + Digest.of("base")),
                new ModelMetadata(JOB, Digest.of("model"), "restricted", T), Digest.of("provenance"),
                List.of(new ServingImage.Dataset("breast-cancer", Digest.of("data"))), Digest.of("code"),
                T.plusSeconds(60), T.plusSeconds(90));
    }

    @Test
    void statementIsSlsaProvenanceAboutTheImage() {
        JsonNode s = Json.readObject(ImageProvenance.statement(image(), "urn:cloister:host:test"));
        assertEquals("https://in-toto.io/Statement/v1", s.path("_type").asText());
        assertEquals("https://slsa.dev/provenance/v1", s.path("predicateType").asText());
        assertEquals(1, s.path("subject").size());
        assertEquals("127.0.0.1:5000/cloister/models/bc", s.path("subject").get(0).path("name").asText());
        assertEquals(Digest.of("image").hex(), s.path("subject").get(0).path("digest").path("sha256").asText());
        JsonNode build = s.path("predicate").path("buildDefinition");
        assertEquals("https://cloister.dev/serving-image/v1", build.path("buildType").asText());
        assertEquals("restricted", build.path("internalParameters").path("trainingPolicy").asText());
        assertEquals("[\"/usr/bin/tini\",\"--\",\"python3\",\"/opt/cloister/serving/serve.py\"]",
                build.path("internalParameters").path("entrypoint").toString());
        List<String> deps = new ArrayList<>();
        build.path("resolvedDependencies").forEach(d -> deps.add(d.path("name").asText() + " " + d.path("uri").asText()
                + " " + d.path("digest").path("sha256").asText()));
        assertEquals(List.of(
                "base-image docker-image://127.0.0.1:5000/cloister/serving-base " + Digest.of("base").hex(),
                "model cloister-model:" + JOB + " " + Digest.of("model").hex(),
                "training-provenance cloister-provenance:" + JOB + "/provenance.sigstore.json "
                        + Digest.of("provenance").hex(),
                "dataset cloister-dataset:breast-cancer " + Digest.of("data").hex(),
                "serving-code cloister-serving-code:/opt/cloister/serving " + Digest.of("code").hex()), deps);
        JsonNode run = s.path("predicate").path("runDetails");
        assertEquals("urn:cloister:host:test", run.path("builder").path("id").asText());
        assertEquals(JOB.value(), run.path("metadata").path("invocationId").asText());
        assertEquals("2025-01-02T03:05:35Z", run.path("metadata").path("finishedOn").asText());
    }

    @Test
    void claimsReadBackWhatWasStated() {
        List<String> problems = new ArrayList<>();
        ImageProvenance.Claims c = ImageProvenance.claims(
                Json.readObject(ImageProvenance.statement(image(), "urn:cloister:host:test")), problems);
        assertEquals(List.of(), problems);
        assertEquals(new ImageProvenance.Claims("127.0.0.1:5000/cloister/models/bc", Digest.of("image"),
                ModelOrigin.of(JOB), "urn:cloister:host:test", "restricted", image().base(), Digest.of("model"),
                Digest.of("provenance"), List.of(Digest.of("data")), T.plusSeconds(90)), c);
    }

    @Test
    void aFederatedModelIsNamedByItsFederationWithEverySiteDataset() {
        ModelOrigin fed = new ModelOrigin("fed-" + "a".repeat(32));
        ServingImage image = new ServingImage(
                ImageReference.parse("127.0.0.1:5000/cloister/models/bc-fed:" + fed.id()).withDigest(Digest.of("image")),
                ImageReference.parse("127.0.0.1:5000/cloister/serving-base@" + Digest.of("base")),
                new ModelMetadata(fed, Digest.of("model"), "federated", T), Digest.of("provenance"),
                List.of(new ServingImage.Dataset("fed-site-a", Digest.of("a")),
                        new ServingImage.Dataset("fed-site-b", Digest.of("b"))), Digest.of("code"),
                T.plusSeconds(60), T.plusSeconds(90));
        JsonNode s = Json.readObject(ImageProvenance.statement(image, "urn:cloister:host:test"));
        JsonNode external = s.path("predicate").path("buildDefinition").path("externalParameters");
        assertEquals(fed.id(), external.path("federationId").asText());
        assertTrue(external.path("jobId").isMissingNode(), external.toString());
        assertEquals("cloister-provenance:" + fed.id() + "/provenance.sigstore.json", s.path("predicate")
                .path("buildDefinition").path("resolvedDependencies").get(2).path("uri").asText());
        List<String> problems = new ArrayList<>();
        ImageProvenance.Claims c = ImageProvenance.claims(s, problems);
        assertEquals(List.of(), problems);
        assertEquals(fed, c.origin());
        assertEquals(ModelOrigin.Kind.FEDERATION, c.origin().kind());
        assertEquals(List.of(Digest.of("a"), Digest.of("b")), c.datasets());
        assertEquals("dev.cloister.federation-id", ServingImageBuilder.originLabel(c.origin().kind()));
    }

    @Test
    void anInvocationIdThatIsNeitherJobNorFederationIsAProblem() {
        ObjectNode s = Json.readObject(ImageProvenance.statement(image(), "b"));
        ((ObjectNode) s.path("predicate").path("runDetails").path("metadata")).put("invocationId", "../job-1");
        List<String> problems = new ArrayList<>();
        ImageProvenance.claims(s, problems);
        assertTrue(problems.contains("its invocation id (runDetails.metadata.invocationId) is not a job or federation"
                + " id"), problems.toString());
    }

    @Test
    void missingClaimsAreProblems() {
        ObjectNode s = Json.readObject(ImageProvenance.statement(image(), "b"));
        ((ObjectNode) s.path("predicate").path("buildDefinition")).putArray("resolvedDependencies");
        ((ObjectNode) s.path("predicate").path("runDetails").path("metadata")).remove("finishedOn");
        s.put("predicateType", "https://example.com/other");
        List<String> problems = new ArrayList<>();
        ImageProvenance.claims(s, problems);
        assertEquals(3, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("predicate type"), problems.toString());
        assertTrue(problems.get(1).contains("does not name the base image"), problems.toString());
        assertTrue(problems.get(2).contains("build time"), problems.toString());
    }
}
