package dev.cloister.build;

import dev.cloister.digest.Digest;
import dev.cloister.verify.BuildProvenanceVerifier;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerificationException;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training image builds through the API against the real engine and registry: the example builds under policy with
 * verifiable provenance naming its context; bad contexts are refused with their reason; a RUN step that tries the
 * network fails the build.
 */
@QuarkusTest
public class ImageBuildApiTest {

    static final String REPOSITORY = "cloister/example-breast-cancer";
    static final Path EXAMPLE = Path.of("deploy/examples/breast-cancer");

    /** The trainer base as host setup pushed it (deploy/host-setup.sh records its registry digest). */
    static String base() throws Exception {
        Path ref = Path.of("/var/lib/cloister/images/trainer-base.ref");
        assertTrue(Files.isRegularFile(ref), "run deploy/host-setup.sh: it pushes the trainer base and writes " + ref);
        return Files.readString(ref).strip();
    }

    /** A build runs every step without cache; on a busy host it outlasts the usual 30 s request timeout. */
    public static io.restassured.specification.RequestSpecification slow() {
        return given().config(io.restassured.RestAssured.config().httpClient(
                io.restassured.config.HttpClientConfig.httpClientConfig().setParam("http.socket.timeout", 600_000)));
    }

    static ValidatableResponse build(byte[] tar, String query) {
        return slow().contentType("application/x-tar").body(tar).post("/api/v1/images?" + query).then();
    }

    private static String activeKey() {
        return given().get("/api/v1/keys").then().statusCode(200).extract().jsonPath()
                .getList("findAll { it.active }.pem", String.class).get(0);
    }

    private static Digest digestOf(byte[] tar, Path tmp) throws Exception {
        try (BuildContext c = BuildContext.read(new ByteArrayInputStream(tar), tmp, new BuildContext.Limits(1 << 24, 1000))) {
            return c.digest();
        }
    }

    private static Path context(Path tmp, String dockerfile) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(dir.resolve("Dockerfile"), dockerfile);
        return dir;
    }

    @Test
    void theExampleBuildsUnderPolicyWithProvenanceNamingItsContext(@TempDir Path tmp) throws Exception {
        byte[] tar = BuildContext.tarDirectory(EXAMPLE);
        JsonPath record = build(tar, "policy=restricted&repository=" + REPOSITORY + "&tag=api-test&buildArg=BASE="
                + base()).statusCode(201).extract().jsonPath();
        String image = record.getString("image");
        Digest manifest = Digest.parse(record.getString("manifestDigest"));
        assertEquals("127.0.0.1:5000/" + REPOSITORY + "@" + manifest, image);
        assertEquals(List.of(base()), record.getList("bases", String.class));
        assertEquals(digestOf(tar, tmp.resolve("a")).toString(), record.getString("contextDigest"));

        byte[] bundle = given().get("/api/v1/images/" + manifest + "/provenance").then().statusCode(200).extract()
                .asByteArray();
        assertEquals(record.getString("provenanceDigest"), Digest.of(bundle).toString());
        BuildProvenanceVerifier verifier = new BuildProvenanceVerifier(new ModelVerifier());
        BuildProvenanceVerifier.VerifiedBuild b = verifier.verify(bundle, activeKey(), Optional.of(manifest),
                Optional.of(digestOf(tar, tmp.resolve("b"))));
        assertEquals(base(), b.bases().get(0));
        assertEquals(base(), b.buildArgs().get("BASE"));
        assertEquals("restricted", b.policy());
        assertEquals(Digest.of(Files.readAllBytes(EXAMPLE.resolve("Dockerfile"))), b.dockerfileDigest());

        // One changed byte in the context: another digest, which this provenance does not name.
        Path copy = Files.createDirectories(tmp.resolve("tampered"));
        for (String f : List.of("Dockerfile", "train.py")) {
            Files.copy(EXAMPLE.resolve(f), copy.resolve(f));
        }
        Files.writeString(copy.resolve("train.py"), Files.readString(copy.resolve("train.py")) + "#\n");
        Digest tampered = digestOf(BuildContext.tarDirectory(copy), tmp.resolve("c"));
        assertNotEquals(b.contextDigest(), tampered);
        VerificationException e = assertThrows(VerificationException.class,
                () -> verifier.verify(bundle, activeKey(), Optional.of(manifest), Optional.of(tampered)));
        assertTrue(e.getMessage().contains("names build context " + b.contextDigest() + ", not this context"),
                e.getMessage());
        // A signature over another statement does not pass either.
        byte[] forged = new String(bundle, java.nio.charset.StandardCharsets.UTF_8)
                .replace("\"payload\": \"", "\"payload\": \"e30").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThrows(VerificationException.class, () -> verifier.verify(forged, activeKey(), Optional.empty(),
                Optional.empty()));

        // The built image runs as a training job under the policy.
        given().get("/api/v1/images/" + manifest).then().statusCode(200).body("image", org.hamcrest.Matchers.equalTo(image));
    }

    @Test
    void unpinnedAndDisallowedBasesAreRefusedWithTheirLine(@TempDir Path tmp) throws Exception {
        byte[] unpinned = BuildContext.tarDirectory(context(tmp.resolve("a"), "FROM 127.0.0.1:5000/cloister/trainer-base:bookworm\n"));
        build(unpinned, "repository=" + REPOSITORY).statusCode(422).contentType("application/problem+json")
                .body("type", containsString("build-refused"))
                .body("violations[0].field", org.hamcrest.Matchers.equalTo("Dockerfile line 1"))
                .body("violations[0].reason", containsString("is not pinned"));
        byte[] disallowed = BuildContext.tarDirectory(context(tmp.resolve("b"),
                "FROM 127.0.0.1:5000/cloister/serving-base@sha256:" + "0".repeat(64) + "\n"));
        build(disallowed, "repository=" + REPOSITORY).statusCode(422)
                .body("violations[0].reason", containsString("is not allowed by policy 'restricted'"));
        String imageId = org.testcontainers.DockerClientFactory.instance().client()
                .inspectImageCmd("cloister/trainer-base:bookworm").exec().getId();
        byte[] byImageId = BuildContext.tarDirectory(context(tmp.resolve("c"), "FROM cloister/trainer-base@" + imageId
                + "\n"));
        build(byImageId, "repository=" + REPOSITORY).statusCode(422)
                .body("violations[0].reason", containsString("pinned by an image ID: push the base to the registry"));
        byte[] argOnly = BuildContext.tarDirectory(context(tmp.resolve("d"), "ARG BASE\nFROM ${BASE}\n"));
        build(argOnly, "repository=" + REPOSITORY).statusCode(422)
                .body("violations[0].reason", containsString("cannot be pinned"));
        build(BuildContext.tarDirectory(context(tmp.resolve("e"), "FROM " + base() + "\n")),
                "repository=someone/else").statusCode(422)
                .body("violations[0].field", org.hamcrest.Matchers.equalTo("repository"));
    }

    @Test
    void addOfAUrlAndEscapingLinksAreRefused(@TempDir Path tmp) throws Exception {
        byte[] add = BuildContext.tarDirectory(context(tmp.resolve("a"), "FROM " + base()
                + "\nADD https://files.pythonhosted.org/x.whl /opt/\n"));
        build(add, "repository=" + REPOSITORY).statusCode(422)
                .body("violations[0].field", org.hamcrest.Matchers.equalTo("Dockerfile line 2"))
                .body("violations[0].reason", containsString("ADD of a URL"));
        build(add, "repository=" + REPOSITORY + "&buildArg=NOVALUE").statusCode(400)
                .contentType("application/problem+json").body("detail", containsString("NAME=VALUE"));
        Path dir = context(tmp.resolve("b"), "FROM " + base() + "\nCOPY secret /secret\n");
        Files.createSymbolicLink(dir.resolve("secret"), Path.of("../../../../etc/shadow"));
        build(BuildContext.tarDirectory(dir), "repository=" + REPOSITORY).statusCode(422)
                .body("violations[0].field", org.hamcrest.Matchers.equalTo("context"))
                .body("violations[0].reason", containsString("secret: symbolic link to '../../../../etc/shadow' leaves the build context"));
        // Context and Dockerfile problems are reported together.
        Files.writeString(dir.resolve("Dockerfile"), "FROM " + base() + "\nADD http://example.com/x /x\nCOPY secret /secret\n");
        build(BuildContext.tarDirectory(dir), "repository=" + REPOSITORY).statusCode(422)
                .body("violations.field", org.hamcrest.Matchers.contains("context", "Dockerfile line 2"));
    }

    @Test
    void aContextOverTheCapIsA413(@TempDir Path tmp) throws Exception {
        Path dir = context(tmp.resolve("a"), "FROM " + base() + "\n");
        Files.write(dir.resolve("big.bin"), new byte[2 << 20]);
        build(BuildContext.tarDirectory(dir), "repository=" + REPOSITORY).statusCode(413)
                .contentType("application/problem+json").body("detail", containsString("larger than 1048576 bytes"));
        build("not a tar at all, just text that is long enough to be read as a header".repeat(20).getBytes(),
                "repository=" + REPOSITORY).statusCode(org.hamcrest.Matchers.anyOf(org.hamcrest.Matchers.is(422),
                org.hamcrest.Matchers.is(400)));
    }

    @Test
    void aRunStepThatTriesTheNetworkFailsTheBuild(@TempDir Path tmp) throws Exception {
        byte[] tar = BuildContext.tarDirectory(context(tmp.resolve("a"), "FROM " + base() + "\n"
                + "RUN python3 -c \"import socket; socket.create_connection(('198.51.100.7', 80), timeout=5)\"\n"));
        build(tar, "repository=" + REPOSITORY + "&tag=network-test").statusCode(422)
                .body("type", containsString("build-failed"))
                .body("detail", containsString("returned a non-zero code"))
                .body("detail", containsString("Network is unreachable"));
        // Refusals and failures are audited.
        String audit = given().queryParam("action", "image.build").queryParam("format", "jsonl").get("/api/v1/audit")
                .then().statusCode(200).extract().asString();
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"outcome\":\"failed\"") && l.contains("non-zero code")),
                audit);
    }
}
