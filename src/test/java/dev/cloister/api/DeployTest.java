package dev.cloister.api;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.cloister.cli.Cloister;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The seed workflow's end: the example trains, is published, verifies, deploys hardened and predicts. */
@QuarkusTest
class DeployTest {

    private static final String NAME = "cloister-test-serving";
    private static final int PORT = 18181;
    private final DockerClient docker = DockerClientFactory.instance().client();

    @AfterEach
    void removeDeployment() {
        try {
            docker.removeContainerCmd(NAME).withForce(true).exec();
        } catch (NotFoundException e) {
            // Nothing was deployed.
        }
    }

    private JsonPath publishExample() {
        String imageId = docker.inspectImageCmd("cloister/example-breast-cancer:latest").exec().getId();
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets").then().statusCode(201);
        String id = given().contentType(ContentType.JSON).body("{\"name\":\"bc-deploy\",\"team\":\"test\","
                        + "\"image\":\"cloister/example-breast-cancer@" + imageId + "\",\"dataset\":\"breast-cancer\","
                        + "\"command\":[\"python3\",\"/opt/cloister/example/train.py\"],\"hyperparameters\":{\"epochs\":50}}")
                .post("/api/v1/jobs").then().statusCode(201).extract().path("id");
        Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().extract().jsonPath();
            if (List.of("PUBLISHED", "FAILED").contains(job.getString("state"))) {
                return job;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return fail("job not published in time");
    }

    private static Path hostKey(Path dir) throws Exception {
        String pem = given().get("/api/v1/keys").then().extract().jsonPath()
                .getList("findAll { it.active }.pem", String.class).get(0);
        return Files.writeString(dir.resolve("host.pub.pem"), pem);
    }

    private static Path otherKey(Path dir) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        String b64 = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(g.generateKeyPair().getPublic().getEncoded());
        return Files.writeString(dir.resolve("other.pub.pem"), "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n");
    }

    @Test
    void publishedModelVerifiesDeploysAndPredicts(@TempDir Path tmp) throws Exception {
        JsonPath job = publishExample();
        assertEquals("PUBLISHED", job.getString("state"), job.prettify());
        String image = job.getString("servingImage");
        Path key = hostKey(tmp);
        Path release = Files.writeString(tmp.resolve("release.yaml"), "allowedPolicies: [restricted]\n");
        assertEquals(0, Cloister.run("verify", "image", image, "--key", key.toString(), "--release-policy", release.toString()));
        assertEquals(0, Cloister.run("deploy", image, "--key", key.toString(), "--port", Integer.toString(PORT),
                "--name", NAME));

        var inspect = docker.inspectContainerCmd(NAME).exec();
        assertTrue(inspect.getHostConfig().getReadonlyRootfs());
        assertEquals("65534:65534", inspect.getConfig().getUser());
        assertTrue(inspect.getHostConfig().getSecurityOpts().contains("no-new-privileges"));
        assertTrue(inspect.getHostConfig().getPortBindings().getBindings().values().stream().flatMap(b -> java.util.Arrays.stream(b))
                .allMatch(b -> "127.0.0.1".equals(b.getHostIp())), "published on loopback only");

        String row = Files.readAllLines(Path.of("/var/lib/cloister/datasets/breast-cancer/breast_cancer.csv")).get(1);
        String features = row.substring(0, row.lastIndexOf(','));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + PORT + "/predict")).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"rows\": [[" + features + "]]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"predictions\": [") || r.body().contains("\"predictions\":["), r.body());
    }

    @Test
    void deployRefusesWhatDoesNotVerify(@TempDir Path tmp) throws Exception {
        JsonPath job = publishExample();
        String image = job.getString("servingImage");
        assertEquals(1, Cloister.run("deploy", image, "--key", otherKey(tmp).toString(), "--port", Integer.toString(PORT),
                "--name", NAME), "another key: refused");
        Path strictOnly = Files.writeString(tmp.resolve("release.yaml"), "allowedPolicies: [strict]\n");
        assertEquals(1, Cloister.run("deploy", image, "--key", hostKey(tmp).toString(), "--release-policy",
                strictOnly.toString(), "--port", Integer.toString(PORT), "--name", NAME), "release policy: refused");
        assertThrows(NotFoundException.class, () -> docker.inspectContainerCmd(NAME).exec(), "nothing deployed");
        JsonPath verdict = given().contentType(ContentType.JSON)
                .body("{\"image\":\"" + image + "\",\"releasePolicy\":\"allowedPolicies: [strict]\\n\"}")
                .post("/api/v1/verify/image").then().statusCode(200).extract().jsonPath();
        assertFalse(verdict.getBoolean("verified"));
        assertTrue(verdict.getList("reasons", String.class).stream().anyMatch(s -> s.contains("strict")),
                verdict.prettify());
    }
}
