package dev.cloister.federation;

import dev.cloister.auth.Roles;
import dev.cloister.auth.TestTokens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.verify.FederationVerifier;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerificationException;
import dev.cloister.verify.VerifiedFederation;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import dev.cloister.digest.Digest;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageVerificationException;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.RegistryLimits;
import dev.cloister.image.VerifiedImage;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.Optional;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Federated training end to end on the real engine: three sites in three rounds against the example trainer image,
 * misbehaving sites excluded with their reasons, a round below quorum, and the signed chain verified offline from
 * the API's download (and rejected once tampered with). Needs {@code deploy/examples/federated/setup.sh} (run by
 * deploy/test.sh): the site datasets and the trainer image; without them the tests fail, naming what is missing.
 */
@QuarkusTest
class FederationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> DATASETS = List.of("fed-site-a", "fed-site-b", "fed-site-c", "fed-heldout");
    /** Each dataset's owning team, as in the example (deploy/examples/federated): a site runs as its data's team. */
    private static final java.util.Map<String, String> OWNERS = java.util.Map.of("fed-site-a", "oncology-a",
            "fed-site-b", "oncology-b", "fed-site-c", "oncology-c", "fed-heldout", "evaluation");
    private static final List<String> FINAL = List.of("PUBLISHED", "FAILED", "CANCELLED");
    /** The three-site, three-round federation with a held-out evaluation, run once for the tests that read it. */
    private static String published;
    private static String image;

    @TempDir
    Path tmp;

    /**
     * A test that asserts on its first round leaves the federation running its later rounds; federations run one at
     * a time, so the next test's would wait behind it. Stop what is still running.
     */
    @AfterEach
    void cancelWhatIsStillRunning() {
        List<Map<String, Object>> all = given().get("/api/v1/federations").then().statusCode(200).extract()
                .jsonPath().getList("$");
        for (Map<String, Object> f : all) {
            if (!FINAL.contains(String.valueOf(f.get("state")))) {
                given().post("/api/v1/federations/" + f.get("id") + "/cancel").then().statusCode(200);
                awaitEnd(String.valueOf(f.get("id")), Duration.ofMinutes(2));
            }
        }
    }

    @BeforeEach
    void requireExample() {
        if (image != null) {
            return;
        }
        try {
            image = "cloister/example-federated@" + DockerClientFactory.instance().client()
                    .inspectImageCmd("cloister/example-federated:latest").exec().getId();
        } catch (RuntimeException e) {
            throw new IllegalStateException("the federated example image is missing: run "
                    + "deploy/examples/federated/setup.sh (deploy/test.sh does)", e);
        }
        for (String d : DATASETS) {
            if (!Files.isDirectory(Path.of("/var/lib/cloister/datasets", d))) {
                throw new IllegalStateException("dataset " + d + " is missing: run deploy/examples/federated/setup.sh");
            }
            given().contentType(ContentType.JSON).body("{\"name\":\"" + d + "\",\"team\":\"" + OWNERS.get(d) + "\"}")
                    .post("/api/v1/datasets").then().statusCode(201);
        }
    }

    private static ObjectNode spec(String name, int rounds, int quorum, String deadline) {
        ObjectNode s = JSON.createObjectNode();
        s.put("name", name);
        s.put("image", image);
        s.putArray("command").add("python3").add("/opt/cloister/federated/train_site.py");
        s.putObject("hyperparameters").put("epochs", 25).put("learning_rate", 0.5);
        ObjectNode arrays = s.putObject("model").putObject("arrays");
        arrays.putArray("w").add(30);
        arrays.putArray("b").add(1);
        arrays.putArray("mu").add(30);
        arrays.putArray("sd").add(30);
        s.put("rounds", rounds);
        s.put("quorum", quorum);
        s.put("roundDeadline", deadline);
        s.putObject("aggregation").put("rule", "fedavg");
        s.put("maxUpdateBytes", "64k");
        s.putArray("sites");
        return s;
    }

    private static void site(ObjectNode spec, String name, String dataset, String fault) {
        ObjectNode site = ((com.fasterxml.jackson.databind.node.ArrayNode) spec.get("sites")).addObject();
        site.put("name", name).put("team", OWNERS.get(dataset)).put("dataset", dataset).put("policy", "federated");
        if (fault != null) {
            site.putObject("env").put("FAULT", fault);
        }
    }

    private static String submit(ObjectNode spec) {
        return given().contentType(ContentType.JSON).body(spec.toString()).post("/api/v1/federations").then()
                .statusCode(201).extract().path("id");
    }

    private static JsonPath awaitEnd(String id, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath f = given().get("/api/v1/federations/" + id).then().statusCode(200).extract().jsonPath();
            if (FINAL.contains(f.getString("state"))) {
                return f;
            }
            sleep(500);
        }
        fail("federation " + id + " did not end within " + max);
        return null;
    }

    /** Runs the three-site federation the first time a test asks for it; later tests read the same one. */
    private static String threeSiteFederation() {
        if (published == null) {
            ObjectNode spec = spec("fed-it", 3, 2, "2m");
            site(spec, "site-a", "fed-site-a", null);
            site(spec, "site-b", "fed-site-b", null);
            site(spec, "site-c", "fed-site-c", null);
            spec.putObject("evaluation").put("team", "evaluation").put("dataset", "fed-heldout")
                    .put("policy", "federated");
            String id = submit(spec);
            awaitEnd(id, Duration.ofMinutes(7));
            published = id;
        }
        return published;
    }

    @Test
    void threeSitesThreeRoundsBeatTheWorstSiteAndEveryRecordVerifies() throws Exception {
        String id = threeSiteFederation();
        JsonPath f = given().get("/api/v1/federations/" + id).then().statusCode(200).extract().jsonPath();
        assertEquals("PUBLISHED", f.getString("state"), "federation ended: " + f.getString("reason"));
        assertEquals(3, f.getList("rounds").size());
        for (int r = 0; r < 3; r++) {
            assertEquals("AGGREGATED", f.getString("rounds[" + r + "].state"));
            for (int s = 0; s < 3; s++) {
                String at = "rounds[" + r + "].sites[" + s + "].";
                assertEquals("ACCEPTED", f.getString(at + "state"), f.getString(at + "reason"));
                // Asserted from inside each site's container: it lists /sys/class/net and reports what it saw.
                assertEquals(List.of("lo"), f.getList(at + "interfaces"), "network interfaces seen by "
                        + f.getString(at + "site") + " in round " + (r + 1));
            }
            if (r > 0) {
                assertEquals(f.getString("rounds[" + (r - 1) + "].outputDigest"),
                        f.getString("rounds[" + r + "].inputDigest"), "each round starts from the last output");
            }
        }
        Map<String, Float> metrics = f.getMap("evaluation.metrics");
        double global = metrics.get("accuracy.global");
        double worst = Stream.of("site-a", "site-b", "site-c").mapToDouble(s -> metrics.get("accuracy.solo-" + s))
                .min().orElseThrow();
        assertEquals(113, f.getInt("evaluation.examples"));
        assertTrue(global > worst, "global accuracy " + global + " must beat the worst site alone, " + worst
                + " (all: " + metrics + ")");

        // Offline, from the API's download, with the key the API lists.
        Path dir = download(id);
        String pem = given().get("/api/v1/keys").then().extract().path("find { it.active }.pem");
        VerifiedFederation v = new FederationVerifier(new ModelVerifier()).verify(dir, pem);
        assertEquals(3, v.rounds().size());
        assertEquals(f.getString("modelDigest"), v.model().model().rootDigest().toString());
        assertEquals(f.getString("rounds[2].outputDigest"), v.finalGlobal().toString());
        Path key = tmp.resolve("host.pub.pem");
        Files.writeString(key, pem);
        assertEquals(0, dev.cloister.cli.Cloister.run("verify", "federation", dir.toString(), "--key", key.toString()));

        // A tampered record: one byte of the signed statement changed.
        Path tampered = copy(dir, "tampered");
        editPayload(tampered.resolve("rounds/round-0002.sigstore.json"), p -> p.replace("\"round\":2", "\"round\":7"));
        assertRejected(tampered, pem, "round-0002.sigstore.json: the DSSE signature does not verify");
        // A reordered chain: records 1 and 2 swapped.
        Path reordered = copy(dir, "reordered");
        Path r1 = reordered.resolve("rounds/round-0001.sigstore.json");
        Path r2 = reordered.resolve("rounds/round-0002.sigstore.json");
        byte[] first = Files.readAllBytes(r1);
        Files.write(r1, Files.readAllBytes(r2));
        Files.write(r2, first);
        assertRejected(reordered, pem, "round-0001.sigstore.json: the signed record is for round 2, not round 1");
        // A swapped update digest: site-b's update in round 1 replaced by site-a's, signature kept.
        Path swapped = copy(dir, "swapped");
        JsonPath round1 = JsonPath.from(payload(swapped.resolve("rounds/round-0001.sigstore.json")));
        String a = round1.getString("predicate.accepted.find { it.site == 'site-a' }.update.sha256");
        String b = round1.getString("predicate.accepted.find { it.site == 'site-b' }.update.sha256");
        editPayload(swapped.resolve("rounds/round-0001.sigstore.json"), p -> p.replace(b, a));
        assertRejected(swapped, pem, "round-0001.sigstore.json: the DSSE signature does not verify");
        // A record removed from the middle of the chain.
        Path cut = copy(dir, "cut");
        Files.delete(cut.resolve("rounds/round-0002.sigstore.json"));
        assertRejected(cut, pem, "round record round-0002.sigstore.json is missing");
        // The sealed model's weights replaced by an earlier round's.
        Path stale = copy(dir, "stale");
        Files.copy(stale.resolve("globals/global-0001.npz"), stale.resolve("model/global.npz"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertRejected(stale, pem, "model/: ");

        // Per-site logs: every round of the site, and nothing of another site.
        String siteB = TestTokens.ofRunningService().issue("oncology-b-member", "oncology-b",
                List.of(Roles.SUBMITTER), Duration.ofMinutes(10));
        String log = given().auth().oauth2(siteB).get("/api/v1/federations/" + id + "/sites/site-b/log").then()
                .statusCode(200).extract().asString();
        // Nobody but the site's team reads it: not the administrator who started the federation (the default test
        // token, team 'test', every role), not another site's team.
        given().get("/api/v1/federations/" + id + "/sites/site-b/log").then().statusCode(403)
                .contentType("application/problem+json");
        given().auth().oauth2(siteB).get("/api/v1/federations/" + id + "/sites/site-a/log").then().statusCode(403);
        assertTrue(log.contains("--- site-b round-0001 ---") && log.contains("--- site-b round-0003 ---"), log);
        assertTrue(log.contains("fed-site-b") || log.contains("130 rows"), log);
        given().auth().oauth2(siteB).get("/api/v1/federations/" + id + "/sites/nope/log").then().statusCode(404)
                .contentType("application/problem+json");
    }

    /**
     * The sealed federated model is packaged like a job's: a serving image pushed by digest and signed with its
     * image provenance; it verifies with the host key (and not with another key, nor once its signature is altered),
     * its labels and provenance name the federation's sealed model and training provenance (which lists the round
     * records), and the image deployed hardened answers the held-out split exactly as the evaluation container did.
     */
    @Test
    void theFederatedModelIsPublishedVerifiedAndServesTheHeldOutSplit() throws Exception {
        String id = threeSiteFederation();
        JsonPath f = given().get("/api/v1/federations/" + id).then().statusCode(200).extract().jsonPath();
        assertEquals("PUBLISHED", f.getString("state"), "federation ended: " + f.getString("reason"));
        String ref = f.getString("servingImage");
        assertTrue(ref.matches("127\\.0\\.0\\.1:5000/cloister/test-models/fed-it:" + id + "@sha256:[0-9a-f]{64}"), ref);
        given().get("/api/v1/audit?action=federation.package").then().statusCode(200)
                .body("findAll { it.subject == '" + id + "' }.outcome", org.hamcrest.Matchers.contains("pushed"));
        given().get("/api/v1/audit?action=federation.publish").then().statusCode(200)
                .body("findAll { it.subject == '" + id + "' }.outcome", org.hamcrest.Matchers.contains("signed"));

        String pem = given().get("/api/v1/keys").then().extract().path("find { it.active }.pem");
        ImageReference image = ImageReference.parse(ref);
        ImageVerifier verifier = new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC());
        VerifiedImage v = verifier.verify(image, pem, Optional.empty());
        assertEquals(id, v.origin());
        assertEquals("federation", v.originKind());
        assertEquals(f.getString("modelDigest"), v.modelDigest().toString());
        assertEquals("federated", v.trainingPolicy());
        assertEquals(f.getList("sites.datasetDigest"), v.datasetDigests().stream().map(Digest::toString).toList());
        // The attested training provenance is the federation's, which lists every signed round record.
        Path dir = federationDir(id);
        Path provenance = dir.resolve("model/provenance.sigstore.json");
        assertEquals(Digest.of(Files.readAllBytes(provenance)), v.trainingProvenance());
        JsonPath p = JsonPath.from(payload(provenance));
        assertEquals("https://cloister.dev/federation/v1", p.getString("predicate.buildDefinition.buildType"));
        for (int r = 1; r <= 3; r++) {
            String uri = "cloister-federation-round:" + id + "/round-000" + r + ".sigstore.json";
            assertEquals(Digest.parse(f.getString("rounds[" + (r - 1) + "].recordDigest")).hex(), p.getString(
                    "predicate.buildDefinition.resolvedDependencies.find { it.uri == '" + uri + "' }.digest.sha256"),
                    uri);
        }
        // The image's labels (covered by its digest) name the federation and its sealed model.
        JsonPath labels = JsonPath.from(new String(imageConfig(image), StandardCharsets.UTF_8));
        assertEquals(id, labels.getString("config.Labels.'dev.cloister.federation-id'"));
        assertEquals(f.getString("modelDigest"), labels.getString("config.Labels.'dev.cloister.model.digest'"));
        assertEquals(v.trainingProvenance().toString(),
                labels.getString("config.Labels.'dev.cloister.training-provenance.digest'"));
        assertEquals(null, labels.getString("config.Labels.'dev.cloister.job-id'"));

        // The CLI accepts it with the host key and a release policy for the federated policy.
        Path key = Files.writeString(tmp.resolve("host.pub.pem"), pem);
        Path release = Files.writeString(tmp.resolve("release.yaml"), "allowedPolicies: [federated]\n");
        assertEquals(0, dev.cloister.cli.Cloister.run("verify", "image", ref, "--key", key.toString(),
                "--release-policy", release.toString()));

        // Another key: neither the signature nor the attestation verifies.
        ImageVerificationException other = assertThrows(ImageVerificationException.class,
                () -> verifier.verify(image, otherKeyPem(), Optional.empty()));
        assertTrue(other.failed(ImageVerificationException.Check.SIGNATURE_INVALID), other.getMessage());
        assertTrue(other.failed(ImageVerificationException.Check.ATTESTATION_INVALID), other.getMessage());
        // A tampered signature (one byte of it changed in the registry): rejected, then restored.
        String sigTag = "sha256-" + image.digest().orElseThrow().hex() + ".sig";
        byte[] original = registry("GET", image.repository(), "manifests/" + sigTag, null);
        ObjectNode manifest = (ObjectNode) JSON.readTree(original);
        ObjectNode annotations = (ObjectNode) manifest.path("layers").get(0).path("annotations");
        byte[] sig = Base64.getDecoder().decode(annotations.path("dev.cosignproject.cosign/signature").asText());
        sig[sig.length / 2] ^= 0x01;
        annotations.put("dev.cosignproject.cosign/signature", Base64.getEncoder().encodeToString(sig));
        registry("PUT", image.repository(), "manifests/" + sigTag, JSON.writeValueAsBytes(manifest));
        try {
            ImageVerificationException tampered = assertThrows(ImageVerificationException.class,
                    () -> verifier.verify(image, pem, Optional.empty()));
            assertEquals(List.of(ImageVerificationException.Check.SIGNATURE_INVALID),
                    tampered.failures().stream().map(ImageVerificationException.Failure::check).toList(),
                    tampered.getMessage());
            assertEquals(1, dev.cloister.cli.Cloister.run("verify", "image", ref, "--key", key.toString()));
        } finally {
            registry("PUT", image.repository(), "manifests/" + sigTag, original);
        }
        verifier.verify(image, pem, Optional.empty());

        // Deployed hardened, it predicts the held-out split as the evaluation container scored the same weights.
        assertEquals(0, dev.cloister.cli.Cloister.run("deploy", ref, "--key", key.toString(), "--port",
                Integer.toString(SERVING_PORT), "--name", SERVING_NAME));
        List<String> lines = Files.readAllLines(Path.of("/var/lib/cloister/datasets/fed-heldout/heldout.csv"));
        int target = List.of(lines.get(0).split(",")).indexOf("target");
        StringBuilder rows = new StringBuilder();
        List<Integer> labelsOfRows = new java.util.ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            List<String> cells = new java.util.ArrayList<>(List.of(line.split(",")));
            labelsOfRows.add((int) Double.parseDouble(cells.remove(target)));
            rows.append(rows.isEmpty() ? "" : ",").append('[').append(String.join(",", cells)).append(']');
        }
        JsonPath answer = JsonPath.from(predict("{\"rows\": [" + rows + "]}"));
        List<Integer> predictions = answer.getList("predictions", Integer.class);
        assertEquals(labelsOfRows.size(), predictions.size());
        long right = java.util.stream.IntStream.range(0, predictions.size())
                .filter(i -> predictions.get(i).equals(labelsOfRows.get(i))).count();
        // The API's JSON number reads back as a float: compare counts of right answers, which are exact.
        assertEquals(f.getInt("evaluation.examples"), predictions.size());
        assertEquals(Math.round(f.getDouble("evaluation.metrics.'accuracy.global'") * predictions.size()), right,
                "the served model gets as many held-out rows right as the evaluation container did with the same"
                        + " weights (" + right + " of " + predictions.size() + ")");
        JsonPath health = JsonPath.from(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + SERVING_PORT + "/healthz")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertEquals(f.getString("modelDigest"), health.getString("model"), "the server checked model.sig's files");
    }

    @Test
    void misbehavingSitesAreExcludedWithTheirReasons() {
        ObjectNode spec = spec("fed-faults", 1, 2, "25s");
        site(spec, "honest-a", "fed-site-a", null);
        site(spec, "honest-c", "fed-site-c", null);
        site(spec, "nan", "fed-site-b", "nan");
        site(spec, "shape", "fed-site-b", "shape");
        site(spec, "oversize", "fed-site-b", "oversize");
        site(spec, "sleeper", "fed-site-b", "sleep");
        String id = submit(spec);
        JsonPath f = awaitEnd(id, Duration.ofMinutes(4));
        assertEquals("PUBLISHED", f.getString("state"), f.getString("reason"));
        Map<String, String> reasons = new java.util.HashMap<>();
        for (Map<String, Object> s : f.<Map<String, Object>>getList("rounds[0].sites")) {
            reasons.put((String) s.get("site"), s.get("state") + ": " + s.get("reason"));
        }
        assertEquals("ACCEPTED: null", reasons.get("honest-a"));
        assertEquals("ACCEPTED: null", reasons.get("honest-c"));
        assertTrue(reasons.get("nan").startsWith("EXCLUDED: invalid update: array 'w' has 1 non-finite value(s)"),
                reasons.get("nan"));
        assertTrue(reasons.get("shape").startsWith("EXCLUDED: invalid update: wrong shape: array 'w' has shape (31,),"
                + " expected (30,)"), reasons.get("shape"));
        assertTrue(reasons.get("oversize").matches("EXCLUDED: invalid update: the file is \\d+ bytes, over the cap of "
                + "65536"), reasons.get("oversize"));
        assertEquals("EXCLUDED: did not finish within the round deadline of 25s", reasons.get("sleeper"));
        // The signed record names the same exclusions.
        JsonPath record = JsonPath.from(payload(federationDir(id).resolve("rounds/round-0001.sigstore.json")));
        assertEquals(List.of("honest-a", "honest-c"), record.getList("predicate.accepted.site"));
        assertEquals(List.of("nan", "shape", "oversize", "sleeper"), record.getList("predicate.excluded.site"));
        assertEquals(reasons.get("sleeper").substring("EXCLUDED: ".length()),
                record.getString("predicate.excluded.find { it.site == 'sleeper' }.reason"));
    }

    @Test
    void aRoundBelowQuorumFailsWithItsReasonAndASignedRecord() throws Exception {
        ObjectNode spec = spec("fed-quorum", 2, 2, "1m");
        site(spec, "honest", "fed-site-a", null);
        site(spec, "nan", "fed-site-b", "nan");
        String id = submit(spec);
        JsonPath f = awaitEnd(id, Duration.ofMinutes(3));
        assertEquals("FAILED", f.getString("state"));
        assertEquals("round 1 failed: only 1 of 2 site(s) sent an acceptable update; the quorum is 2",
                f.getString("reason"));
        assertEquals(1, f.getList("rounds").size(), "no round after a failed one");
        assertEquals("FAILED", f.getString("rounds[0].state"));
        Path dir = federationDir(id);
        JsonPath record = JsonPath.from(payload(dir.resolve("rounds/round-0001.sigstore.json")));
        assertEquals("failed", record.getString("predicate.outcome"));
        String pem = given().get("/api/v1/keys").then().extract().path("find { it.active }.pem");
        VerificationException e = assertThrows(VerificationException.class,
                () -> new FederationVerifier(new ModelVerifier()).verify(dir, pem));
        assertEquals(List.of("the federation did not finish: round 1 failed: only 1 of 2 site(s) sent an acceptable "
                + "update; the quorum is 2"), e.reasons());
        given().get("/api/v1/federations/" + id + "/artifacts").then().statusCode(409)
                .contentType("application/problem+json");
    }

    @Test
    void cancelStopsTheSitesAndSignsTheCancelledRound() {
        ObjectNode spec = spec("fed-cancel", 3, 1, "2m");
        site(spec, "honest", "fed-site-a", null);
        site(spec, "sleeper", "fed-site-b", "sleep");
        String id = submit(spec);
        Instant until = Instant.now().plus(Duration.ofMinutes(1));
        while (!String.valueOf(given().get("/api/v1/federations/" + id).then().extract().jsonPath()
                .getList("rounds[0].sites.state")).contains("ACCEPTED")) {
            assertTrue(Instant.now().isBefore(until), "the honest site did not finish round 1 within a minute");
            sleep(250);
        }
        given().post("/api/v1/federations/" + id + "/cancel").then().statusCode(200);
        JsonPath f = awaitEnd(id, Duration.ofMinutes(1));
        assertEquals("CANCELLED", f.getString("state"));
        assertEquals("round 1 failed: cancelled on request", f.getString("reason"));
        assertEquals("CANCELLED", f.getString("rounds[0].state"));
        assertEquals("EXCLUDED", f.getString("rounds[0].sites.find { it.site == 'sleeper' }.state"));
        JsonPath record = JsonPath.from(payload(federationDir(id).resolve("rounds/round-0001.sigstore.json")));
        assertEquals("cancelled on request", record.getString("predicate.reason"));
    }

    @Test
    void badSpecsAreRefusedWithEveryReasonAndLeaveNothing() {
        int before = given().get("/api/v1/federations").then().extract().jsonPath().getList("$").size();
        ObjectNode spec = spec("fed-bad", 2, 3, "2m");
        spec.put("image", "cloister/example-federated:latest");
        spec.putArray("volumes").add("/etc:/etc");
        site(spec, "a", "fed-site-a", null);
        site(spec, "b", "fed-site-b", null);
        ((ObjectNode) spec.get("sites").get(1)).put("policy", "restricted");
        given().contentType(ContentType.JSON).body(spec.toString()).post("/api/v1/federations").then()
                .statusCode(422).contentType("application/problem+json")
                .body("violations.field", hasItem("volumes"))
                .body("violations.field", hasItem("quorum"))
                .body("violations.field", hasItem("image"))
                .body("violations.reason", hasItem("host paths are never mounted: each site names a registered dataset"));
        ObjectNode notAllowed = spec("fed-bad", 1, 1, "2m");
        site(notAllowed, "a", "fed-site-a", null);
        ((ObjectNode) notAllowed.get("sites").get(0)).put("policy", "restricted");
        given().contentType(ContentType.JSON).body(notAllowed.toString()).post("/api/v1/federations").then()
                .statusCode(422).body("violations.reason", hasItem("policy 'restricted' does not allow federated "
                        + "sites (federation.allowInput is not set)"));
        given().contentType(ContentType.JSON).body("{\"name\": ").post("/api/v1/federations").then().statusCode(400)
                .contentType("application/problem+json");
        assertEquals(before, given().get("/api/v1/federations").then().extract().jsonPath().getList("$").size());
        given().get("/api/v1/federations/fed-00000000000000000000000000000000").then().statusCode(404)
                .contentType("application/problem+json");
    }

    // --- helpers ---

    private static final String SERVING_NAME = "cloister-test-fed-serving";
    private static final int SERVING_PORT = 18182;

    @AfterEach
    void removeDeployment() {
        try {
            DockerClientFactory.instance().client().removeContainerCmd(SERVING_NAME).withForce(true).exec();
        } catch (com.github.dockerjava.api.exception.NotFoundException e) {
            // Nothing was deployed.
        }
    }

    /** POST /predict on the deployed image; the server may take a moment to listen after the container starts. */
    private static String predict(String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + SERVING_PORT + "/predict"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        Instant until = Instant.now().plus(Duration.ofSeconds(20));
        while (true) {
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                return r.body();
            } catch (java.net.ConnectException e) {
                assertTrue(Instant.now().isBefore(until), "the serving container did not listen within 20 s");
                sleep(250);
            }
        }
    }

    /** The image's config blob, read from the registry by the manifest's config digest. */
    private static byte[] imageConfig(ImageReference image) throws Exception {
        JsonNode manifest = JSON.readTree(registry("GET", image.repository(), "manifests/"
                + image.digest().orElseThrow(), null));
        return registry("GET", image.repository(), "blobs/" + manifest.path("config").path("digest").asText(), null);
    }

    /** One call to the test registry (plain HTTP on loopback), OCI manifests in and out. */
    private static byte[] registry(String method, String repository, String path, byte[] body) throws Exception {
        String media = "application/vnd.oci.image.manifest.v1+json";
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:5000/v2/" + repository + "/"
                + path)).timeout(Duration.ofSeconds(10)).header("Accept", media);
        b = body == null ? b.GET() : b.header("Content-Type", media).method(method,
                HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(r.statusCode() / 100 == 2, method + " " + path + ": HTTP " + r.statusCode() + " "
                + new String(r.body(), StandardCharsets.UTF_8));
        return r.body();
    }

    private static String otherKeyPem() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(g.generateKeyPair().getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    }

    private Path download(String id) throws IOException {
        byte[] tar = given().get("/api/v1/federations/" + id + "/artifacts").then().statusCode(200).extract().asByteArray();
        Path out = tmp.resolve("download");
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                Path p = out.resolve(e.getName()).normalize();
                assertTrue(p.startsWith(out));
                Files.createDirectories(p.getParent());
                Files.write(p, in.readAllBytes());
            }
        }
        return out.resolve(id);
    }

    private static Path federationDir(String id) {
        return Path.of("target/cloister-test/federations", id);
    }

    private Path copy(Path dir, String name) throws IOException {
        Path to = tmp.resolve(name);
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                Path t = to.resolve(dir.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return to;
    }

    private static String payload(Path bundle) {
        try {
            JsonNode b = JSON.readTree(bundle.toFile());
            return new String(Base64.getDecoder().decode(b.path("dsseEnvelope").path("payload").asText()),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void editPayload(Path bundle, java.util.function.UnaryOperator<String> edit) throws IOException {
        ObjectNode b = (ObjectNode) JSON.readTree(bundle.toFile());
        String before = payload(bundle);
        String after = edit.apply(before);
        assertTrue(!after.equals(before), "the edit must change the payload");
        ((ObjectNode) b.get("dsseEnvelope")).put("payload",
                Base64.getEncoder().encodeToString(after.getBytes(StandardCharsets.UTF_8)));
        Files.write(bundle, JSON.writeValueAsBytes(b));
    }

    private static void assertRejected(Path dir, String pem, String reasonStart) {
        VerificationException e = assertThrows(VerificationException.class,
                () -> new FederationVerifier(new ModelVerifier()).verify(dir, pem));
        assertTrue(e.reasons().stream().anyMatch(r -> r.startsWith(reasonStart)),
                "expected a reason starting with '" + reasonStart + "', got " + e.reasons());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
