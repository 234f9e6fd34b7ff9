package dev.cloister.api;

import dev.cloister.cli.Cloister;
import dev.cloister.digest.Digest;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReleaseClaims;
import dev.cloister.verify.SealReport;
import dev.cloister.verify.SealVerifier;
import dev.cloister.verify.VerificationException;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** A real job is sealed by the service and verifies offline, from the API's tar, with the key the API lists. */
@QuarkusTest
class SealedJobTest {

    private static String jobId;
    private static String imageDigest;
    private static JsonPath job;

    @BeforeEach
    void sealOneJob() {
        if (jobId != null) {
            return;
        }
        imageDigest = DockerClientFactory.instance().client().inspectImageCmd("cloister/trainer-base:bookworm").exec().getId();
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets").then().statusCode(201);
        String script = "import json, os\\nos.makedirs('/out/sub', exist_ok=True)\\n"
                + "open('/out/sub/a.txt','w').write('a')\\nopen('/out/sub-b.txt','w').write('b')\\n"
                + "open('/out/weights.json','w').write(json.dumps({'w': [1, 2, 3]}))\\nopen('/out/empty','w').close()";
        jobId = given().contentType(ContentType.JSON).body("{\"name\":\"seal\",\"team\":\"test\",\"image\":"
                        + "\"cloister/trainer-base@" + imageDigest + "\",\"dataset\":\"breast-cancer\","
                        + "\"command\":[\"python3\",\"-c\",\"" + script + "\"]}")
                .post("/api/v1/jobs").then().statusCode(201).extract().path("id");
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (Instant.now().isBefore(deadline)) {
            job = given().get("/api/v1/jobs/" + jobId).then().extract().jsonPath();
            if (List.of("PUBLISHED", "FAILED").contains(job.getString("state"))) {
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        fail("job not sealed in time");
    }

    private static String activeKey() {
        List<String> pems = given().get("/api/v1/keys").then().statusCode(200).extract().jsonPath()
                .getList("findAll { it.active }.pem", String.class);
        assertEquals(1, pems.size(), "exactly one active key");
        return pems.get(0);
    }

    private static Path download(Path into) throws Exception {
        byte[] tar = given().get("/api/v1/jobs/" + jobId + "/artifacts").then().statusCode(200)
                .contentType("application/x-tar").extract().asByteArray();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                Path target = into.resolve(e.getName()).normalize();
                assertTrue(target.startsWith(into), "tar entry stays inside: " + e.getName());
                Files.createDirectories(target.getParent());
                Files.copy((InputStream) in, target);
            }
        }
        return into.resolve(jobId);
    }

    @Test
    void sealedJobVerifiesOfflineWithEveryClaim(@TempDir Path tmp) throws Exception {
        assertEquals("PUBLISHED", job.getString("state"), job.prettify());
        assertTrue(job.getString("modelDigest").startsWith("sha256:"));
        Path dir = download(tmp);
        assertTrue(Files.exists(dir.resolve("model.sig")) && Files.exists(dir.resolve("provenance.sigstore.json")));
        ReleaseClaims claims = new ReleaseClaims(Optional.of("restricted"),
                Optional.of(Digest.parse(job.getString("datasetDigest"))), Optional.of(Digest.parse(imageDigest)));
        SealReport report = new SealVerifier(new ModelVerifier()).verify(dir, activeKey(),
                SealVerifier.defaultProvenance(dir), claims, List.of());
        assertEquals(job.getString("modelDigest"), report.model().rootDigest().toString());
        assertEquals(4, report.model().fileCount());
        assertEquals(jobId, report.provenance().orElseThrow().jobId());
        assertEquals(job.getString("keyId"), report.model().keyId().hex());
    }

    @Test
    void provenanceIsWrittenByTheHost() {
        JsonPath p = given().get("/api/v1/jobs/" + jobId + "/provenance").then().statusCode(200).extract().jsonPath();
        assertEquals("https://slsa.dev/provenance/v1", p.getString("predicateType"));
        assertEquals("seal", p.getString("predicate.buildDefinition.externalParameters.jobSpec.name"));
        assertEquals("restricted", p.getString("predicate.buildDefinition.internalParameters.policy.name"));
        assertEquals(job.getString("policyDigest"), p.getString("predicate.buildDefinition.internalParameters.policy.digest"));
        assertEquals("runc", p.getString("predicate.buildDefinition.internalParameters.runtime"));
        assertTrue(p.getList("predicate.buildDefinition.resolvedDependencies.uri", String.class)
                .containsAll(List.of("docker-image://cloister/trainer-base", "cloister-dataset:breast-cancer",
                        "cloister-policy:restricted")));
        assertEquals(jobId, p.getString("predicate.runDetails.metadata.invocationId"));
        assertEquals(5, p.getList("subject").size(), "four files and the model root");
    }

    @Test
    void tamperingAndWrongClaimsAreRejectedWithReasons(@TempDir Path tmp) throws Exception {
        Path dir = download(tmp);
        String key = activeKey();
        SealVerifier verifier = new SealVerifier(new ModelVerifier());
        VerificationException claim = assertThrows(VerificationException.class, () -> verifier.verify(dir, key,
                SealVerifier.defaultProvenance(dir), new ReleaseClaims(Optional.of("strict"), Optional.empty(),
                        Optional.of(Digest.of("other"))), List.of()));
        assertEquals(2, claim.reasons().size(), claim.reasons().toString());
        assertTrue(claim.reasons().get(0).contains("policy is 'restricted', not the required 'strict'"));

        Files.writeString(dir.resolve("weights.json"), "{\"w\": [6, 6, 6]}");
        VerificationException modified = assertThrows(VerificationException.class,
                () -> verifier.verify(dir, key, SealVerifier.defaultProvenance(dir), ReleaseClaims.NONE, List.of()));
        assertTrue(modified.reasons().stream().anyMatch(r -> r.contains("weights.json")), modified.reasons().toString());
    }

    @Test
    void cliVerifiesTheDownloadAndRefusesATamperedOne(@TempDir Path tmp) throws Exception {
        Path dir = download(tmp);
        Path key = tmp.resolve("host.pub.pem");
        Files.writeString(key, activeKey());
        assertEquals(0, Cloister.run("verify", "model", dir.toString(), "--key", key.toString(), "--policy", "restricted",
                "--dataset-digest", job.getString("datasetDigest"), "--image-digest", imageDigest));
        Files.delete(dir.resolve("sub/a.txt"));
        assertEquals(1, Cloister.run("verify", "model", dir.toString(), "--key", key.toString()));
        assertEquals(2, Cloister.run("verify", "model", dir.toString()), "missing --key is a usage error");
    }

    @Test
    void noPrivateKeyMaterialInTheKeyList() {
        String body = given().get("/api/v1/keys").then().statusCode(200).extract().asString();
        assertTrue(body.contains("BEGIN PUBLIC KEY"));
        assertFalse(body.contains("PRIVATE"), body);
    }

    @Test
    void unsealedJobsHaveNoArtifacts() {
        given().get("/api/v1/jobs/job-" + "f".repeat(32) + "/artifacts").then().statusCode(404);
    }
}
