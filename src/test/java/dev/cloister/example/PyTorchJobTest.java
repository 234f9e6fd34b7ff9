package dev.cloister.example;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.cloister.digest.Digest;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The PyTorch example ({@code deploy/examples/pytorch}) trains under the {@code restricted} policy through the real
 * service: Debian's PyTorch, a DataLoader with two forked worker processes that hand every batch back through shared
 * memory, the training seccomp profile, 64m {@code /dev/shm}, read-only root, uid 1000, no network. The job is the
 * shipped {@code job.json} with the image filled in, so the documented spec is what runs.
 *
 * <p>Fails, never skips, when the image is missing or was built from another {@code train.py} or on another trainer
 * image: "run deploy/examples/pytorch/build.sh" ({@code deploy/test.sh} runs it before the tests).
 */
@QuarkusTest
class PyTorchJobTest {

    private static final String BUILD = "deploy/examples/pytorch/build.sh";
    private static final Path EXAMPLE = Path.of("deploy/examples/pytorch");
    private static final Pattern WORKERS = Pattern.compile(
            "dataloader workers: (\\d+) distinct processes \\(worker ids \\[([0-9, ]*)], pids \\[([0-9, ]*)], trainer pid (\\d+)\\)");
    private static final List<String> NOT_ENDED = List.of("QUEUED", "RUNNING", "SUCCEEDED", "SEALED", "PACKAGED");

    private static String image;

    // Once per class, on the first test, when Quarkus has set the test port (as in JobLifecycleTest).
    @BeforeEach
    void requireExampleImage() throws IOException {
        if (image != null) {
            return;
        }
        DockerClient docker;
        try {
            docker = DockerClientFactory.instance().client();
        } catch (RuntimeException e) {
            throw new IllegalStateException("no Docker engine answers: run deploy/host-setup.sh first", e);
        }
        InspectImageResponse example = inspect(docker, "cloister/example-pytorch:latest");
        InspectImageResponse trainer = inspect(docker, "cloister/trainer-pytorch:bookworm");
        Map<String, String> labels = example.getConfig().getLabels() == null ? Map.of() : example.getConfig().getLabels();
        // The image must carry this checkout's train.py, on the trainer image tagged now.
        String here = Digest.of(Files.readAllBytes(EXAMPLE.resolve("train.py"))).hex();
        assertEquals(here, labels.get("dev.cloister.train-sha256"),
                "cloister/example-pytorch:latest was built from another train.py: run " + BUILD);
        assertEquals(trainer.getId(), labels.get("dev.cloister.base-image-id"),
                "cloister/example-pytorch:latest was built on another cloister/trainer-pytorch image: run " + BUILD);
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets")
                .then().statusCode(201);
        image = "cloister/example-pytorch@" + example.getId();
    }

    private static InspectImageResponse inspect(DockerClient docker, String name) {
        try {
            return docker.inspectImageCmd(name).exec();
        } catch (NotFoundException e) {
            fail("the image " + name + " is missing: run " + BUILD + " (as root; the first build takes minutes)");
            return null;
        }
    }

    @Test
    void dataLoaderWorkersTrainUnderRestricted() throws IOException {
        String spec = Files.readString(EXAMPLE.resolve("job.json"));
        assertTrue(spec.contains("\"IMAGE\""), "job.json has the IMAGE placeholder");
        // Submitted by the tests' token, whose team is 'test' (a job is submitted for the submitter's own team).
        String team = spec.replaceFirst("\"team\"\\s*:\\s*\"examples\"", "\"team\": \"test\"");
        assertTrue(!team.equals(spec), "job.json names team examples");
        spec = team;
        Instant submitted = Instant.now();
        String id = given().contentType(ContentType.JSON).body(spec.replace("\"IMAGE\"", "\"" + image + "\""))
                .post("/api/v1/jobs").then().statusCode(201).extract().path("id");
        JsonPath job = awaitEnd(id, Duration.ofMinutes(5));
        String log = given().get("/api/v1/jobs/" + id + "/logs").then().statusCode(200).extract().asString();
        String context = job.prettify() + "\n--- job log ---\n" + log;

        assertEquals("PUBLISHED", job.getString("state"), context);
        assertEquals(0, job.getInt("exitCode"), context);
        assertEquals("restricted", job.getString("policy"));
        assertEquals("runc", job.getString("runtime"));
        assertEquals(List.of("QUEUED", "RUNNING", "SUCCEEDED", "SEALED", "PACKAGED", "PUBLISHED"),
                job.getList("history.to", String.class));

        // The training seccomp filter and no_new_privs were in force in the job itself.
        assertTrue(log.contains("sandbox: uid=1000 Seccomp=2 NoNewPrivs=1 CapEff=0000000000000000"), log);
        assertTrue(log.contains("start method fork, sharing strategy file_descriptor"), log);
        assertTrue(log.contains("epoch 20/20 "), log);

        // Batches came from at least two distinct worker processes, none of them the trainer.
        Matcher m = WORKERS.matcher(log);
        assertTrue(m.find(), "the log names the DataLoader workers:\n" + log);
        TreeSet<String> workerIds = split(m.group(2));
        TreeSet<String> pids = split(m.group(3));
        assertTrue(Integer.parseInt(m.group(1)) >= 2 && workerIds.size() >= 2 && pids.size() >= 2,
                "at least two DataLoader workers ran: " + m.group());
        assertTrue(!pids.contains(m.group(4)), "the workers are other processes than the trainer: " + m.group());

        assertEquals(List.of("metrics.json", "model.pt"), job.getList("outputs", String.class).stream().sorted().toList());
        Path artifacts = Path.of(job.getString("artifactDir"));
        byte[] model = Files.readAllBytes(artifacts.resolve("model.pt"));
        assertTrue(model.length > 100 && model[0] == 'P' && model[1] == 'K', "model.pt is torch.save's zip format");
        assertTrue(Files.exists(artifacts.resolve("model.sig")), "the model is sealed");
        JsonPath metrics = JsonPath.from(artifacts.resolve("metrics.json").toFile());
        assertTrue(metrics.getInt("dataloader_workers") >= 2, metrics.prettify());
        assertTrue(metrics.getDouble("accuracy") > 0.9, "test accuracy: " + metrics.prettify());
        System.out.printf("PyTorch example under restricted: %s, training %.1f s, test accuracy %.4f, %d s from "
                        + "submit to %s%n", m.group(), metrics.getDouble("train_seconds"), metrics.getDouble("accuracy"),
                Duration.between(submitted, Instant.now()).toSeconds(), job.getString("state"));
    }

    private static TreeSet<String> split(String list) {
        TreeSet<String> values = new TreeSet<>();
        for (String v : list.split(",")) {
            if (!v.isBlank()) {
                values.add(v.strip());
            }
        }
        return values;
    }

    private static JsonPath awaitEnd(String id, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            if (!NOT_ENDED.contains(job.getString("state"))) {
                return job;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        fail("job " + id + " did not end within " + max);
        return null;
    }
}
