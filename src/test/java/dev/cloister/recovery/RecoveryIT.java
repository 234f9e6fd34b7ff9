package dev.cloister.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.RegistryLimits;
import dev.cloister.policy.Admission;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReleaseClaims;
import dev.cloister.verify.SealVerifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packaged service ({@code target/quarkus-app/quarkus-run.jar}, H2 under its own data dir) is killed with SIGKILL
 * while jobs are running and queued, the engine changes meanwhile, and a new process on the same data dir must follow
 * the job still running to its end, bring every job to a final state with a reason and leave none of its containers
 * behind. Needs the host set up
 * (deploy/host-setup.sh) and the application packaged: run by failsafe after {@code package} ({@code mvn verify}).
 */
class RecoveryIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();

    private final Path data = Path.of("target/recovery-it-" + System.nanoTime()).toAbsolutePath();
    private final String instance = Admission.instanceOf(data.resolve("work"));
    private final List<Process> services = new ArrayList<>();
    private int port;

    @AfterEach
    void stopServices() throws Exception {
        for (Process p : services) {
            p.destroy();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        // Whatever happened, no container or host mount of this instance outlives the test.
        for (String id : containers()) {
            docker("rm", "-f", id);
        }
        List<String> mounts = new ArrayList<>(mountsBelow(data));
        java.util.Collections.reverse(mounts);
        for (String m : mounts) {
            new ProcessBuilder("umount", "-l", m).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static List<String> mountsBelow(Path dir) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" ")[4])
                .filter(p -> p.startsWith(dir + "/")).toList();
    }

    @Test
    void jobsInterruptedByAKilledServiceEndWithAReasonAndLeaveNoContainers() throws Exception {
        String image = exampleImage();
        Path jar = application();
        port = freePort();
        Process first = start(jar, "first", databaseArgs(true));

        // Long enough to outlive the kill and the restart, then it finishes on its own under the new process.
        String resumed = submit(image, "import time, pathlib\nprint('before the restart', flush=True)\n"
                + "time.sleep(45)\nprint('after the restart', flush=True)\n"
                + "pathlib.Path('/out/model.txt').write_text('resumed')");
        String exits = submit(image, "import time, pathlib\nprint('exit: started', flush=True)\ntime.sleep(6)\n"
                + "print('exit: done while no service ran', flush=True)\npathlib.Path('/out/model.txt').write_text('ok')");
        String vanishes = submit(image, "import time\ntime.sleep(600)");
        String queued = submit(image, "import pathlib\npathlib.Path('/out/model.txt').write_text('queued')");
        for (String id : List.of(resumed, exits, vanishes)) {
            await(id, "RUNNING", Duration.ofSeconds(90));
        }
        assertEquals("QUEUED", job(queued).get("state").asText(), "concurrency 3: the fourth job waits");

        first.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
        assertTrue(first.waitFor(30, TimeUnit.SECONDS));
        // While the service is down: one container exits, one is removed by someone, an orphan appears.
        awaitExited(containerOf(exits), Duration.ofSeconds(60));
        docker("rm", "-f", containerOf(vanishes));
        String orphanJob = "job-" + HexFormat.of().formatHex(randomBytes(16));
        String orphan = docker("create", "--label", "dev.cloister.managed=true", "--label", "dev.cloister.job-id=" + orphanJob,
                "--label", Admission.LABEL_INSTANCE + "=" + instance, image.substring(image.indexOf('@') + 1), "true").strip();

        start(jar, "second", databaseArgs(false));

        JsonNode s = awaitFinal(resumed, Duration.ofSeconds(180));
        assertTrue(states(s).containsAll(List.of("RUNNING", "SUCCEEDED", "SEALED")),
                "the job still running at the kill was followed again to its end and sealed: " + s);
        assertEquals(1, states(s).stream().filter("RUNNING"::equals).count(), "one run, not a second one: " + s);
        assertTrue(s.get("outputs").toString().contains("model.txt"), s.toString());
        String log = get("/api/v1/jobs/" + resumed + "/logs").body();
        assertTrue(log.contains("before the restart") && log.contains("after the restart"),
                "the log holds the whole run, replayed from the engine: " + log);
        JsonNode v = awaitFinal(vanishes, Duration.ofSeconds(120));
        assertEquals("FAILED", v.get("state").asText());
        assertEquals("container vanished while the service was down", v.get("reason").asText());
        JsonNode e = awaitFinal(exits, Duration.ofSeconds(180));
        assertTrue(states(e).containsAll(List.of("SUCCEEDED", "SEALED")),
                "the exited job's outputs were collected and sealed after the restart: " + e);
        assertTrue(e.get("outputs").toString().contains("model.txt"), e.toString());
        String exitLog = get("/api/v1/jobs/" + exits + "/logs").body();
        assertTrue(exitLog.contains("exit: started") && exitLog.contains("exit: done while no service ran"),
                "what the job printed while no service ran is taken from the engine's copy: " + exitLog);
        JsonNode q = awaitFinal(queued, Duration.ofSeconds(180));
        assertTrue(states(q).containsAll(List.of("RUNNING", "SUCCEEDED", "SEALED")),
                "the queued job ran after the restart: " + q);
        for (JsonNode j : List.of(s, v, e, q)) {
            assertTrue(j.get("reason").asText().length() > 0, "every final state has a reason: " + j);
        }

        assertEquals(List.of(), containers(), "no container of this instance is left (docker ps -a --filter label=...)");
        assertEquals(List.of(), mountsBelow(data), "the killed process's job mounts were released");
        String audit = auditLines();
        assertTrue(audit.lines().anyMatch(l -> l.contains("recovery.orphan") && l.contains(orphan)),
                "the orphan's removal is audited");
    }

    /**
     * Kill -9 while a three-site federation runs its second round (round 1 aggregated and signed). The next process
     * removes the interrupted round's site containers with the other orphans, admits the federation again from its
     * stored spec and runs round 2 again from the same input: round 1's signed record is kept, the chain verifies
     * offline, the final weights are those of an uninterrupted run (the example is deterministic), and the model is
     * sealed, evaluated and published.
     */
    @Test
    void aFederationInterruptedByAKilledServiceResumesFromItsLastRecordAndIsPublished() throws Exception {
        assertTrue(Files.isRegularFile(JAR), "package the application first (mvn verify runs this test after package)");
        String image = "cloister/example-federated@" + docker("image", "inspect", "-f", "{{.Id}}",
                "cloister/example-federated").strip();
        port = freePort();
        Process first = start(application(), "first", databaseArgs(true));
        Map<String, String> owners = Map.of("fed-site-a", "oncology-a", "fed-site-b", "oncology-b",
                "fed-site-c", "oncology-c", "fed-heldout", "evaluation");
        for (Map.Entry<String, String> d : new java.util.TreeMap<>(owners).entrySet()) {
            assertEquals(201, post("/api/v1/datasets", JSON.createObjectNode().put("name", d.getKey())
                    .put("team", d.getValue()).toString()).statusCode(), "register " + d.getKey());
        }
        ObjectNode spec = JSON.createObjectNode().put("name", "fed-recovery").put("image", image);
        spec.putArray("command").add("python3").add("/opt/cloister/federated/train_site.py");
        spec.putObject("hyperparameters").put("epochs", 25).put("learning_rate", 0.5);
        ObjectNode arrays = spec.putObject("model").putObject("arrays");
        arrays.putArray("w").add(30);
        arrays.putArray("b").add(1);
        arrays.putArray("mu").add(30);
        arrays.putArray("sd").add(30);
        spec.put("rounds", 3).put("quorum", 2).put("roundDeadline", "2m");
        spec.putObject("aggregation").put("rule", "fedavg");
        spec.put("maxUpdateBytes", "64k");
        ArrayNode sites = spec.putArray("sites");
        for (String s : List.of("a", "b", "c")) {
            sites.addObject().put("name", "site-" + s).put("team", owners.get("fed-site-" + s))
                    .put("dataset", "fed-site-" + s).put("policy", "federated");
        }
        spec.putObject("evaluation").put("team", "evaluation").put("dataset", "fed-heldout").put("policy", "federated");
        HttpResponse<String> submitted = post("/api/v1/federations", spec.toString());
        assertEquals(201, submitted.statusCode(), submitted.body());
        String id = JSON.readTree(submitted.body()).get("id").asText();

        JsonNode before = awaitFederation(id, f -> f.get("rounds").size() == 2, Duration.ofSeconds(180));
        // Round 2's site containers running (with their mounts), then SIGKILL.
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (docker("ps", "-q", "--filter", "label=" + Admission.LABEL_INSTANCE + "=" + instance).isBlank()) {
            assertTrue(System.nanoTime() < until, "round 2's site containers did not start within 60 s");
            Thread.sleep(100);
        }
        first.destroyForcibly();
        assertTrue(first.waitFor(30, TimeUnit.SECONDS));
        JsonNode killed = JSON.readTree(data.resolve("federations").resolve(id).resolve("federation.json").toFile());
        assertEquals("RUNNING", killed.get("rounds").get(1).get("state").asText(),
                "killed while round 2 ran: " + killed.get("rounds"));
        String round1 = before.get("rounds").get(0).get("recordDigest").asText();

        start(application(), "second", databaseArgs(false));
        JsonNode f = awaitFederation(id, x -> List.of("PUBLISHED", "FAILED", "CANCELLED")
                .contains(x.get("state").asText()), Duration.ofSeconds(300));
        assertEquals("PUBLISHED", f.get("state").asText(), f.toString());
        assertEquals(3, f.get("rounds").size(), f.toString());
        for (JsonNode r : f.get("rounds")) {
            assertEquals("AGGREGATED", r.get("state").asText(), r.toString());
        }
        assertEquals(round1, f.get("rounds").get(0).get("recordDigest").asText(), "round 1 was not run again");
        assertEquals("sha256:eb3a30d93be84d1d43b17628b12ecfa9381a4a11c7399d59e396ad73d88c339f",
                f.get("rounds").get(2).get("outputDigest").asText(),
                "the final weights are those of the uninterrupted example (README, FederationTest)");
        Path dir = data.resolve("federations").resolve(id);
        assertTrue(Files.isDirectory(dir.resolve("runs/round-0002.interrupted-1")),
                "the interrupted attempt's run directories are kept aside");
        String pem = publicKey();
        dev.cloister.verify.VerifiedFederation chain = new dev.cloister.verify.FederationVerifier(new ModelVerifier())
                .verify(dir, pem);
        assertEquals(3, chain.rounds().size());
        assertEquals(f.get("modelDigest").asText(), chain.model().model().rootDigest().toString());
        var served = new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC())
                .verify(ImageReference.parse(f.get("servingImage").asText()), pem, Optional.empty());
        assertEquals(id, served.origin());
        String audit = auditLines();
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"recovery.federation\"") && l.contains(id)
                && l.contains("\"resumed\"")), "the resumption is audited");
        assertTrue(audit.lines().anyMatch(l -> l.contains("recovery.orphan")),
                "the interrupted round's site containers were removed as orphans");
        assertEquals(List.of(), containers(), "no container of this instance is left");
        assertEquals(List.of(), mountsBelow(data), "the killed process's site mounts were released");
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", bearer()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode awaitFederation(String id, java.util.function.Predicate<JsonNode> until, Duration within)
            throws Exception {
        return poll(() -> {
            HttpResponse<String> r = get("/api/v1/federations/" + id);
            assertEquals(200, r.statusCode(), r.body());
            return JSON.readTree(r.body());
        }, until, "federation " + id + " there", within, Duration.ofMillis(200));
    }

    @Test
    void aGracefulStopLeavesRunningJobsRunningForTheNextStart() throws Exception {
        String image = exampleImage();
        Path jar = application();
        port = freePort();
        Process first = start(jar, "first", databaseArgs(true));
        String running = submit(image, "import time, pathlib\nprint('before the stop', flush=True)\n"
                + "time.sleep(25)\nprint('after the stop', flush=True)\n"
                + "pathlib.Path('/out/model.txt').write_text('kept')");
        await(running, "RUNNING", Duration.ofSeconds(90));
        String container = containerOf(running);

        first.destroy(); // SIGTERM: the shutdown the service is meant to get
        assertTrue(first.waitFor(60, TimeUnit.SECONDS), "the service stopped");
        assertEquals("true", docker("inspect", "-f", "{{.State.Running}}", container).strip(),
                "the job's container runs on after the service stopped");

        start(jar, "second", databaseArgs(false));
        assertTrue(auditLines().lines()
                        .anyMatch(l -> l.contains("\"service.shutdown\"") && l.contains(running)),
                "the shutdown is audited with the job it left running");
        JsonNode j = awaitFinal(running, Duration.ofSeconds(180));
        assertTrue(states(j).containsAll(List.of("RUNNING", "SUCCEEDED", "SEALED")), j.toString());
        assertEquals(1, states(j).stream().filter("RUNNING"::equals).count(), "one run, not a second one: " + j);
        assertTrue(j.get("outputs").toString().contains("model.txt"), j.toString());
        String log = get("/api/v1/jobs/" + running + "/logs").body();
        assertTrue(log.contains("before the stop") && log.contains("after the stop"), log);
        assertEquals(List.of(), containers(), "no container of this instance is left");
    }

    @Test
    void aFullArtifactStoreFailsTheJobWithNothingHalfKept() throws Exception {
        String image = exampleImage();
        Path jar = application();
        // The artifact store on a 1 MiB tmpfs; the job writes 4 MiB (well within the policy's output cap).
        Path artifacts = data.resolve("artifacts");
        Files.createDirectories(artifacts);
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs",
                artifacts.toString()).inheritIO().start();
        assertTrue(mount.waitFor(10, TimeUnit.SECONDS) && mount.exitValue() == 0, "mount a small tmpfs (as root)");
        port = freePort();
        start(jar, "first", databaseArgs(true));
        String id = submit(image, "import pathlib\npathlib.Path('/out/model.bin').write_bytes(bytes(4 << 20))");

        JsonNode j = awaitFinal(id, Duration.ofSeconds(120));
        assertEquals("FAILED", j.get("state").asText(), j.toString());
        assertTrue(j.get("reason").asText().contains("no space left on the host's artifact store"), j.toString());
        assertTrue(!states(j).contains("SEALED"), "never sealed: " + j);
        try (var left = Files.list(artifacts)) {
            assertEquals(List.of(), left.toList(), "nothing half-copied is left in the artifact store");
        }
        assertEquals(List.of(), containers(), "the container is removed");
    }

    /**
     * Kill -9 while the job is being sealed (its last transition is SUCCEEDED), and again, for a second job, while it
     * is being packaged (SEALED). The outputs are large enough (48 MiB of random bytes) that hashing, signing,
     * layering and pushing take seconds, so the kill lands inside that step. After the restart each job is sealed
     * once, published, and its model and serving image verify with the host's public key.
     */
    @Test
    void aKillWhileSealingOrPackagingIsResumedAndEveryArtifactVerifies() throws Exception {
        String image = exampleImage();
        Path jar = application();
        port = freePort();
        String program = "import os, pathlib\npathlib.Path('/out/weights.bin').write_bytes(os.urandom(48 << 20))\n"
                + "pathlib.Path('/out/model.txt').write_text('big')";

        Process first = start(jar, "first", databaseArgs(true));
        String sealing = submit(image, program);
        awaitThenKill(first, sealing, "SUCCEEDED");
        Process second = start(jar, "second", databaseArgs(false));
        String packaging = submit(image, program);
        awaitThenKill(second, packaging, "SEALED");
        start(jar, "third", databaseArgs(false));

        String key = publicKey();
        String audit = null;
        for (String id : List.of(sealing, packaging)) {
            JsonNode j = awaitFinal(id, Duration.ofSeconds(240));
            assertEquals("PUBLISHED", j.get("state").asText(), j.toString());
            assertEquals(1, states(j).stream().filter("SEALED"::equals).count(), "sealed once: " + j);
            assertEquals(1, states(j).stream().filter("RUNNING"::equals).count(), "run once: " + j);
            Path sealed = Path.of(j.get("artifactDir").asText());
            var seal = new SealVerifier(new ModelVerifier()).verify(sealed, key,
                    Optional.of(sealed.resolve("provenance.sigstore.json")), ReleaseClaims.NONE, List.of());
            assertEquals(j.get("modelDigest").asText(), seal.model().rootDigest().toString(), "the model verifies");
            assertTrue(seal.provenance().isPresent(), "the provenance verifies");
            var served = new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC())
                    .verify(ImageReference.parse(j.get("servingImage").asText()), key, Optional.empty());
            assertEquals(j.get("modelDigest").asText(), served.modelDigest().toString(),
                    "the serving image's verified attestation names the sealed model");
            assertEquals(id, served.origin());
            audit = auditLines();
        }
        String log = audit;
        assertTrue(log.lines().anyMatch(l -> l.contains("\"recovery.job\"") && l.contains(sealing)
                && l.contains("resealing")), "the job killed while sealing was sealed again after the restart");
        assertTrue(log.lines().anyMatch(l -> l.contains("\"recovery.job\"") && l.contains(packaging)
                && l.contains("publishing")), "the job killed while packaging was published after the restart");
        assertEquals(List.of(), containers(), "no container of this instance is left");
    }

    /**
     * dockerd is restarted (SIGTERM, start again: what an engine upgrade does) while a job runs. live-restore keeps the
     * container running; the service waits out the outage, takes the log again from the engine and the job finishes,
     * is sealed and published, with its whole log.
     */
    @Test
    void aJobRidesOutADockerdRestart() throws Exception {
        String image = exampleImage();
        Path jar = application();
        port = freePort();
        start(jar, "first", databaseArgs(true));
        String id = submit(image, "import time, pathlib\nprint('before the engine restart', flush=True)\n"
                + "time.sleep(20)\nprint('after the engine restart', flush=True)\n"
                + "pathlib.Path('/out/model.txt').write_text('survived')");
        await(id, "RUNNING", Duration.ofSeconds(90));
        awaitLog(id, "before the engine restart", Duration.ofSeconds(30));
        String container = containerOf(id);

        Process restart = new ProcessBuilder("bash", Path.of("deploy/host/dockerd.sh").toAbsolutePath().toString(),
                "restart").redirectErrorStream(true).redirectOutput(data.resolve("dockerd-restart.log").toFile()).start();
        assertTrue(restart.waitFor(120, TimeUnit.SECONDS) && restart.exitValue() == 0,
                "dockerd restarted; see " + data.resolve("dockerd-restart.log"));
        assertEquals("true", docker("inspect", "-f", "{{.State.Running}}", container).strip(),
                "live-restore kept the job's container running through the restart");

        JsonNode j = awaitFinal(id, Duration.ofSeconds(180));
        assertEquals("PUBLISHED", j.get("state").asText(), j.toString());
        assertEquals(1, states(j).stream().filter("RUNNING"::equals).count(), "one run: " + j);
        assertTrue(j.get("outputs").toString().contains("model.txt"), j.toString());
        String log = get("/api/v1/jobs/" + id + "/logs").body();
        assertTrue(log.contains("before the engine restart") && log.contains("after the engine restart")
                && !log.contains("[cloister] log incomplete"), "the whole log, taken again from the engine: " + log);
        assertEquals(List.of(), containers(), "no container of this instance is left");
    }

    /** Polls fast until the job reaches {@code state}, then kills the service with SIGKILL at once. */
    private void awaitThenKill(Process service, String id, String state) throws Exception {
        poll(() -> job(id), j -> state.equals(j.get("state").asText()), "job " + id + " " + state,
                Duration.ofSeconds(120), Duration.ofMillis(20));
        service.destroyForcibly();
        assertTrue(service.waitFor(30, TimeUnit.SECONDS));
    }

    /** What {@code read} returns as soon as {@code done} holds for it, read every {@code every}; fails after {@code within}. */
    private static JsonNode poll(java.util.concurrent.Callable<JsonNode> read, java.util.function.Predicate<JsonNode> done,
                                 String what, Duration within, Duration every) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        JsonNode j;
        do {
            j = read.call();
            if (done.test(j)) {
                return j;
            }
            Thread.sleep(every.toMillis());
        } while (System.nanoTime() < deadline);
        return fail(what + " not reached within " + within + ": " + j);
    }

    private void awaitLog(String id, String text, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        String log;
        do {
            log = get("/api/v1/jobs/" + id + "/logs").body();
            if (log.contains(text)) {
                return;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < deadline);
        fail("job " + id + " did not print '" + text + "' within " + within + ": " + log);
    }

    /** The audit log as the service exports it (it lives in the database). */
    private String auditLines() throws Exception {
        HttpResponse<String> r = get("/api/v1/audit?format=jsonl");
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private String publicKey() throws Exception {
        HttpResponse<String> r = get("/api/v1/keys");
        assertEquals(200, r.statusCode(), r.body());
        for (JsonNode k : JSON.readTree(r.body())) {
            if (k.get("active").asBoolean()) {
                return k.get("pem").asText();
            }
        }
        return fail("no active key: " + r.body());
    }

    /** The example training image, pinned by its ID; the application must be packaged already. */
    private static String exampleImage() throws Exception {
        assertTrue(Files.isRegularFile(JAR), "package the application first (mvn verify runs this test after package)");
        return "cloister/example-breast-cancer@" + docker("image", "inspect", "-f", "{{.Id}}",
                "cloister/example-breast-cancer").strip();
    }

    /** The application to run: the packaged one (H2). */
    Path application() throws Exception {
        return JAR;
    }

    /** Database settings of each start; {@code fresh} on the first one. H2 lives in the data dir: none needed. */
    List<String> databaseArgs(boolean fresh) {
        return List.of();
    }

    private Process start(Path jar, String name, List<String> databaseArgs) throws Exception {
        Files.createDirectories(data);
        Path log = data.resolve("service-" + name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=" + port,
                "-Dcloister.data-dir=" + data,
                "-Dcloister.datasets.root=/var/lib/cloister/datasets",
                "-Dcloister.jobs.concurrency=3",
                "-Dcloister.images.serving-base-ref=/var/lib/cloister/images/serving-base.ref",
                "-Dcloister.images.repository-prefix=cloister/test-models"));
        cmd.addAll(databaseArgs);
        cmd.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        services.add(p);
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("the service exited (" + p.exitValue() + "); see " + log);
            }
            try {
                if (get("/q/health/ready").statusCode() == 200) {
                    return p;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        fail("the service did not become ready within 120 s; see " + log);
        return p;
    }

    private String submit(String image, String program) throws Exception {
        String body = JSON.writeValueAsString(JSON.createObjectNode().put("name", "recovery").put("team", "test")
                .put("image", image).set("command", JSON.createArrayNode().add("python3").add("-c").add(program)));
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri("/api/v1/jobs")).timeout(Duration.ofSeconds(30))
                .header("Authorization", bearer()).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("id").asText();
    }

    private JsonNode job(String id) throws Exception {
        HttpResponse<String> r = get("/api/v1/jobs/" + id);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private void await(String id, String state, Duration within) throws Exception {
        poll(() -> job(id), j -> state.equals(j.get("state").asText()), "job " + id + " " + state, within,
                Duration.ofMillis(250));
    }

    private JsonNode awaitFinal(String id, Duration within) throws Exception {
        return poll(() -> job(id), j -> List.of("PUBLISHED", "FAILED", "CANCELLED", "TIMED_OUT", "OOM_KILLED")
                .contains(j.get("state").asText()), "job " + id + " final", within, Duration.ofMillis(500));
    }

    private static List<String> states(JsonNode job) {
        List<String> states = new ArrayList<>();
        job.get("history").forEach(t -> states.add(t.get("to").asText()));
        return states;
    }

    private String containerOf(String jobId) throws Exception {
        String ids = docker("ps", "-aq", "--no-trunc", "--filter", "label=" + Admission.LABEL_JOB + "=" + jobId).strip();
        assertTrue(!ids.isEmpty() && !ids.contains("\n"), "one container for " + jobId + ": [" + ids + "]");
        return ids;
    }

    private List<String> containers() throws Exception {
        String ids = docker("ps", "-aq", "--no-trunc", "--filter", "label=" + Admission.LABEL_INSTANCE + "=" + instance).strip();
        return ids.isEmpty() ? List.of() : List.of(ids.split("\n"));
    }

    private static void awaitExited(String container, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if ("false".equals(docker("inspect", "-f", "{{.State.Running}}", container).strip())) {
                return;
            }
            Thread.sleep(250);
        }
        fail("container " + container + " still running after " + within);
    }

    private HttpResponse<String> get(String path) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET();
        // Health needs no token (and is asked before the first start has generated the issuer key).
        return HTTP.send(path.startsWith("/q/health") ? b.build() : b.header("Authorization", bearer()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    // A real token from the issuer key the service generated in its data dir (kept across its restarts).
    private String bearer() {
        return "Bearer " + dev.cloister.auth.TestTokens.of(data.resolve("auth")).defaultToken();
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static String docker(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("docker"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("docker " + String.join(" ", args) + " did not finish within 60 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            fail("docker " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
