package dev.cloister.reproduce;

import dev.cloister.build.BuildContext;
import dev.cloister.cli.Cloister;
import dev.cloister.seal.ReproductionStatement;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReleaseClaims;
import dev.cloister.verify.ReproductionVerifier;
import dev.cloister.verify.SealReport;
import dev.cloister.verify.SealVerifier;
import dev.cloister.verify.VerificationException;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reproducing sealed jobs against the real engine: the example (built through Cloister's image build) reproduces
 * bit for bit; a job that writes the time and random bytes does not, and the differing files are named; a job whose
 * image is gone, or that never sealed, is refused with the reason.
 */
@QuarkusTest
class ReproduceApiTest {

    private static final List<String> FINAL = List.of("PUBLISHED", "FAILED", "CANCELLED", "TIMED_OUT", "OOM_KILLED");

    @BeforeEach
    void dataset() {
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets").then()
                .statusCode(201);
    }

    static JsonPath waitForEnd(String id) {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(4));
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            if (FINAL.contains(job.getString("state"))) {
                return job;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
        throw new AssertionError("job " + id + " did not end in time");
    }

    static String submit(String specJson) {
        return given().contentType(ContentType.JSON).body(specJson).post("/api/v1/jobs").then().statusCode(201)
                .extract().path("id");
    }

    static String builtImage(Path context, String tag) throws Exception {
        String base = Files.readString(Path.of("/var/lib/cloister/images/trainer-base.ref")).strip();
        return dev.cloister.build.ImageBuildApiTest.slow().contentType("application/x-tar")
                .body(BuildContext.tarDirectory(context))
                .post("/api/v1/images?policy=restricted&repository=cloister/example-breast-cancer&tag=" + tag
                        + "&buildArg=BASE=" + base)
                .then().statusCode(201).extract().path("image");
    }

    private static String activeKey() {
        return given().get("/api/v1/keys").then().statusCode(200).extract().jsonPath()
                .getList("findAll { it.active }.pem", String.class).get(0);
    }

    private static Path download(String jobId, Path into) throws Exception {
        byte[] tar = given().get("/api/v1/jobs/" + jobId + "/artifacts").then().statusCode(200).extract().asByteArray();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                Path target = into.resolve(e.getName()).normalize();
                assertTrue(target.startsWith(into));
                Files.createDirectories(target.getParent());
                Files.copy((InputStream) in, target);
            }
        }
        return into.resolve(jobId);
    }

    /** Runs the CLI in-process against this test's service; returns exit code and standard output. */
    /** Runs the CLI in process, logged in (a 0600 saved login) with a submitter token of team test. */
    private static Object[] cli(String... args) throws IOException {
        Path login = Files.createTempDirectory("cloister-login");
        Path config = login.resolve("config.json");
        String token = dev.cloister.auth.TestTokens.ofRunningService().issue("reproducer", "test",
                List.of(dev.cloister.auth.Roles.SUBMITTER, dev.cloister.auth.Roles.DEPLOYER), Duration.ofMinutes(30));
        Files.writeString(config, "{\"server\":\"" + server() + "\",\"token\":\"" + token + "\"}");
        Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setProperty("cloister.config", config.toString());
        try {
            int code = Cloister.run(args);
            return new Object[]{code, out.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(original);
            System.clearProperty("cloister.config");
            Files.deleteIfExists(config);
            Files.deleteIfExists(login);
        }
    }

    private static String server() {
        return "http://localhost:" + RestAssured.port;
    }

    @Test
    void theExampleTrainedOnItsCloisterBuiltImageReproducesBitForBit(@TempDir Path tmp) throws Exception {
        String image = builtImage(Path.of("deploy/examples/breast-cancer"), "reproduce-test");
        String spec = new String(Files.readAllBytes(Path.of("deploy/examples/breast-cancer/job.json")),
                StandardCharsets.UTF_8).replace("\"IMAGE\"", "\"" + image + "\"")
                // Submitted by the tests' token, whose team is 'test' (a job is for the submitter's own team).
                .replaceFirst("\"team\"\\s*:\\s*\"examples\"", "\"team\": \"test\"");
        assertTrue(spec.contains("\"team\": \"test\""), "job.json names team examples");
        String original = submit(spec);
        JsonPath first = waitForEnd(original);
        assertEquals("PUBLISHED", first.getString("state"), first.prettify());
        assertEquals(42L, first.getLong("seed"));
        // The job's provenance points at how its image was made: the signed build provenance, by digest.
        String manifest = image.substring(image.indexOf('@') + 1);
        byte[] buildProvenance = given().get("/api/v1/images/" + manifest + "/provenance").then().statusCode(200)
                .extract().asByteArray();
        JsonPath provenance = given().get("/api/v1/jobs/" + original + "/provenance").then().statusCode(200)
                .extract().jsonPath();
        assertEquals(dev.cloister.digest.Digest.of(buildProvenance).hex(), provenance.getString(
                "predicate.buildDefinition.resolvedDependencies.find { it.name == 'image-provenance' }.digest.sha256"));

        String rerun = given().post("/api/v1/jobs/" + original + "/reproduce").then().statusCode(201)
                .body("reproductionOf", equalTo(original)).extract().path("id");
        JsonPath second = waitForEnd(rerun);
        assertEquals("PUBLISHED", second.getString("state"), second.prettify());
        assertEquals(first.getString("modelDigest"), second.getString("modelDigest"), "same files, same root digest");

        Path dir = download(original, tmp);
        assertTrue(Files.isRegularFile(dir.resolve("reproduction.sigstore.json")), "the verdict travels with the seal");
        String key = activeKey();
        SealReport report = new SealVerifier(new ModelVerifier()).verify(dir, key, SealVerifier.defaultProvenance(dir),
                ReleaseClaims.NONE, List.of());
        ReproductionVerifier.VerifiedReproduction v = new ReproductionVerifier(new ModelVerifier())
                .verify(Files.readAllBytes(dir.resolve("reproduction.sigstore.json")), key, report.model());
        assertEquals(rerun, v.rerunJob());
        assertEquals(3, v.files(), "model.npz, model.json, metrics.json");

        Path pem = tmp.resolve("host.pub.pem");
        Files.writeString(pem, key);
        Object[] verified = cli("verify", "model", dir.toString(), "--key", pem.toString(), "--require-reproduced");
        assertEquals(0, verified[0], String.valueOf(verified[1]));
        assertTrue(String.valueOf(verified[1]).contains("reproduced by re-run " + rerun), String.valueOf(verified[1]));
    }

    @Test
    void aJobThatWritesTheTimeOrRandomBytesIsNotReproducedAndTheFilesAreNamed(@TempDir Path tmp) throws Exception {
        String imageId = DockerClientFactory.instance().client().inspectImageCmd("cloister/trainer-base:bookworm")
                .exec().getId();
        String script = "import os, time\\nopen('/out/stamp.txt','w').write(str(time.time_ns()))\\n"
                + "open('/out/noise.bin','wb').write(os.urandom(32))\\nopen('/out/fixed.txt','w').write('same')";
        String original = submit("{\"name\":\"clock\",\"team\":\"test\",\"image\":\"cloister/trainer-base@" + imageId
                + "\",\"command\":[\"python3\",\"-c\",\"" + script + "\"],\"seed\":7}");
        assertEquals("PUBLISHED", waitForEnd(original).getString("state"));

        Object[] run = cli("reproduce", original, "--server", server(), "--quiet");
        String out = String.valueOf(run[1]);
        assertEquals(1, run[0], out);
        assertTrue(out.startsWith("NOT REPRODUCED: " + original), out);
        assertTrue(out.contains("2 of 3 file(s) differ"), out);
        assertTrue(out.contains("DIFFERS  noise.bin") && out.contains("DIFFERS  stamp.txt"), out);
        assertTrue(out.contains("same     fixed.txt"), out);

        Path dir = download(original, tmp);
        Path pem = tmp.resolve("host.pub.pem");
        Files.writeString(pem, activeKey());
        Object[] verified = cli("verify", "model", dir.toString(), "--key", pem.toString(), "--require-reproduced");
        String text = String.valueOf(verified[1]);
        assertEquals(1, verified[0], text);
        assertTrue(text.contains("not reproduced: stamp.txt differs") && text.contains("not reproduced: noise.bin differs"),
                text);
        assertTrue(cli("verify", "model", dir.toString(), "--key", pem.toString())[0].equals(0),
                "without --require-reproduced the seal itself still verifies");
        String audit = given().queryParam("action", "job.reproduce").queryParam("format", "jsonl").get("/api/v1/audit")
                .then().statusCode(200).extract().asString();
        assertTrue(audit.contains("\"not-reproduced\"") && audit.contains("stamp.txt"), audit);
    }

    @Test
    void aJobWhoseImageIsGoneOrThatNeverSealedIsRefusedWithTheReason(@TempDir Path tmp) throws Exception {
        Path context = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(context.resolve("Dockerfile"), "ARG BASE\nFROM ${BASE}\nCOPY nonce.txt /opt/nonce.txt\n");
        Files.writeString(context.resolve("nonce.txt"), java.util.UUID.randomUUID().toString());
        String image = builtImage(context, "gone-test");
        String sealed = submit("{\"name\":\"gone\",\"team\":\"test\",\"image\":\"" + image + "\","
                + "\"command\":[\"python3\",\"-c\",\"open('/out/x','w').write('x')\"]}");
        assertEquals("PUBLISHED", waitForEnd(sealed).getString("state"));
        String imageId = DockerClientFactory.instance().client().inspectImageCmd(image).exec().getId();
        DockerClientFactory.instance().client().removeImageCmd(imageId).withForce(true).exec();

        given().post("/api/v1/jobs/" + sealed + "/reproduce").then().statusCode(409)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:reproduction-refused"))
                .body("violations[0].field", equalTo("image"))
                .body("violations[0].reason", containsString("is gone"));

        String failed = submit("{\"name\":\"fails\",\"team\":\"test\",\"image\":\"cloister/trainer-base@"
                + DockerClientFactory.instance().client().inspectImageCmd("cloister/trainer-base:bookworm").exec().getId()
                + "\",\"command\":[\"python3\",\"-c\",\"raise SystemExit(3)\"]}");
        assertEquals("FAILED", waitForEnd(failed).getString("state"));
        given().post("/api/v1/jobs/" + failed + "/reproduce").then().statusCode(409)
                .body("detail", containsString("only a sealed job"));
        given().post("/api/v1/jobs/job-" + "0".repeat(32) + "/reproduce").then().statusCode(404);
        String audit = given().queryParam("action", "job.reproduce").queryParam("format", "jsonl").get("/api/v1/audit")
                .then().statusCode(200).extract().asString();
        assertTrue(audit.lines().anyMatch(l -> l.contains(sealed) && l.contains("\"refused\"") && l.contains("is gone")),
                audit);
    }
}
