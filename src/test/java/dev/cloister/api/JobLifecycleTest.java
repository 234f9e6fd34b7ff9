package dev.cloister.api;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Jobs end to end on the real Docker engine: success with outputs, OOM kill, deadline, cancel, no network, gVisor.
 * Needs the host set up by deploy/host-setup.sh (the README's test command does that first).
 */
@QuarkusTest
class JobLifecycleTest {

    private static String trainerImage;

    // Static on purpose: the engine check and dataset registration happen once per class, on the first test, when
    // Quarkus has already set the test port (it has not yet in a static @BeforeAll).
    @BeforeEach
    void requireHost() {
        if (trainerImage != null) {
            return;
        }
        DockerClient docker;
        try {
            docker = DockerClientFactory.instance().client();
        } catch (RuntimeException e) {
            throw new IllegalStateException("no Docker engine answers: run deploy/host-setup.sh first", e);
        }
        String id = docker.inspectImageCmd("cloister/trainer-base:bookworm").exec().getId();
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets")
                .then().statusCode(201);
        trainerImage = "cloister/trainer-base@" + id;
    }

    private static String submit(String command, String extra) {
        String body = "{\"name\":\"it\",\"team\":\"test\",\"image\":\"" + trainerImage + "\","
                + "\"command\":[\"python3\",\"-c\"," + quote(command) + "]" + extra + "}";
        return given().contentType(ContentType.JSON).body(body).post("/api/v1/jobs").then().statusCode(201)
                .body("state", equalTo("QUEUED")).extract().path("id");
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static JsonPath awaitEnd(String id, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            if (!List.of("QUEUED", "RUNNING", "SUCCEEDED", "SEALED", "PACKAGED").contains(job.getString("state"))) {
                return job;
            }
            sleep(250);
        }
        fail("job " + id + " did not end within " + max);
        return null;
    }

    private static JsonPath awaitState(String id, String state, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().extract().jsonPath();
            if (state.equals(job.getString("state"))) {
                return job;
            }
            sleep(100);
        }
        fail("job " + id + " never reached " + state);
        return null;
    }

    private static String logs(String id) {
        return given().get("/api/v1/jobs/" + id + "/logs").then().statusCode(200).extract().asString();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertNoContainerLeft(String id) {
        List<Container> left = DockerClientFactory.instance().client().listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of("dev.cloister.job-id", id)).exec();
        assertEquals(List.of(), left.stream().map(Container::getId).toList(), "container removed after the job");
    }

    @Test
    void jobSucceedsWithOutputsAndSageMakerContract() throws Exception {
        String id = submit("""
                import json, os, numpy as np
                hps = json.load(open('/opt/ml/input/config/hyperparameters.json'))
                assert json.loads(os.environ['SM_HPS']) == hps, 'SM_HPS matches the file'
                rows = open(os.environ['SM_CHANNEL_TRAINING'] + '/breast_cancer.csv').read().splitlines()
                print('rows', len(rows), 'epochs', hps['epochs'], flush=True)
                np.savez(os.environ['SM_MODEL_DIR'] + '/w.npz', w=np.arange(3.0))
                json.dump({'rows': len(rows)}, open('/out/metrics.json', 'w'))
                """, ",\"dataset\":\"breast-cancer\",\"hyperparameters\":{\"epochs\":7}");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(2));
        assertEquals("PUBLISHED", job.getString("state"), job.prettify());
        assertEquals(0, job.getInt("exitCode"));
        assertEquals(List.of("metrics.json", "w.npz"), job.getList("outputs", String.class).stream().sorted().toList());
        Path artifacts = Path.of(job.getString("artifactDir"));
        assertTrue(Files.readString(artifacts.resolve("metrics.json")).contains("\"rows\": 570"),
                "header + 569 samples were readable at /data");
        assertTrue(logs(id).contains("rows 570 epochs 7"), logs(id));
        assertTrue(job.getString("datasetDigest").startsWith("sha256:"));
        assertTrue(job.getString("policyDigest").startsWith("sha256:"));
        assertEquals("IMAGE_ID", job.getString("imagePinnedBy"));
        assertEquals(List.of("QUEUED", "RUNNING", "SUCCEEDED", "SEALED", "PACKAGED", "PUBLISHED"), job.getList("history.to", String.class));
        assertNoContainerLeft(id);

        // CIS Docker Benchmark section 5, from docker inspect of the job's own container.
        JsonPath cis = given().get("/api/v1/jobs/" + id + "/cis").then().statusCode(200).extract().jsonPath();
        assertEquals(32, cis.getList("$").size());
        assertEquals(List.of(), cis.getList("findAll { it.status == 'FAIL' }.id"), "no CIS check fails: " + cis.prettify());
        assertEquals("CANNOT_PASS_ON_HOST", cis.getString("find { it.id == '5.2' }.status"), "AppArmor: not on this kernel");
        assertEquals("PASS", cis.getString("find { it.id == '5.32' }.status"), "no Docker socket");
    }

    @Test
    void failureFileBecomesTheReason() {
        String id = submit("open('/out/failure','w').write('dataset has no label column'); raise SystemExit(3)", "");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(1));
        assertEquals("FAILED", job.getString("state"));
        assertEquals(3, job.getInt("exitCode"));
        assertTrue(job.getString("reason").startsWith("dataset has no label column"), job.getString("reason"));
    }

    @Test
    void memoryHogIsOomKilled() {
        String id = submit("b = []\nwhile True: b.append(bytearray(16 << 20))", ",\"resources\":{\"memory\":\"400m\"}");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(1));
        assertEquals("OOM_KILLED", job.getString("state"), job.prettify());
        assertNoContainerLeft(id);
    }

    @Test
    void sleeperPastItsDeadlineTimesOut() {
        Instant start = Instant.now();
        String id = submit("import time\ntime.sleep(600)", ",\"maxRuntime\":\"3s\"");
        JsonPath job = awaitEnd(id, Duration.ofSeconds(60));
        assertEquals("TIMED_OUT", job.getString("state"), job.prettify());
        assertTrue(job.getString("reason").contains("3s"));
        assertTrue(Duration.between(start, Instant.now()).toSeconds() < 30, "killed near its deadline, not later");
        assertNoContainerLeft(id);
    }

    @Test
    void runningJobCanBeCancelled() {
        String id = submit("import time\nprint('working', flush=True)\ntime.sleep(600)", "");
        awaitState(id, "RUNNING", Duration.ofSeconds(60));
        given().post("/api/v1/jobs/" + id + "/cancel").then().statusCode(200);
        JsonPath job = awaitEnd(id, Duration.ofSeconds(60));
        assertEquals("CANCELLED", job.getString("state"));
        assertNoContainerLeft(id);
    }

    @Test
    void networkAttemptsFailInsideAJob() {
        String id = submit("""
                import os, socket
                print('interfaces', sorted(os.listdir('/sys/class/net')), flush=True)
                for host, port in [('10.0.0.1', 80), ('1.1.1.1', 53)]:
                    try:
                        socket.create_connection((host, port), timeout=3)
                        print('CONNECTED', host, flush=True)
                    except OSError as e:
                        print('blocked', host, e.errno, flush=True)
                try:
                    socket.getaddrinfo('deb.debian.org', 80)
                    print('RESOLVED', flush=True)
                except OSError as e:
                    print('dns blocked', flush=True)
                """, "");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(1));
        assertEquals("PUBLISHED", job.getString("state"));
        String log = logs(id);
        assertTrue(log.contains("interfaces ['lo']"), log);
        assertTrue(log.contains("blocked 10.0.0.1") && log.contains("blocked 1.1.1.1") && log.contains("dns blocked"), log);
        assertTrue(!log.contains("CONNECTED") && !log.contains("RESOLVED"), log);
    }

    @Test
    void logsCanBeFollowedUntilTheJobEnds() {
        String id = submit("import time\nfor i in range(5):\n    print('tick', i, flush=True)\n    time.sleep(0.5)", "");
        String followed = given().get("/api/v1/jobs/" + id + "/logs?follow=true").then().statusCode(200).extract().asString();
        assertTrue(followed.contains("tick 0") && followed.contains("tick 4"), followed);
        assertEquals("PUBLISHED", awaitEnd(id, Duration.ofSeconds(30)).getString("state"));
    }

    @Test
    void strictPolicyRunsUnderGvisor() {
        String id = submit("import os, platform\nprint('kernel', platform.release(), flush=True)\n"
                + "print('dmesg', open('/proc/version').read(), flush=True)", ",\"policy\":\"strict\"");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(2));
        assertEquals("PUBLISHED", job.getString("state"), job.prettify());
        assertEquals("runsc", job.getString("runtime"));
        // gVisor's Sentry reports its own fixed kernel version, not the host's.
        String hostKernel = System.getProperty("os.version");
        String log = logs(id);
        assertTrue(log.contains("kernel ") && !log.contains("kernel " + hostKernel), "not the host kernel: " + log);
    }
}
