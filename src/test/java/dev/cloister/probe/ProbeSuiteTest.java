package dev.cloister.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.cloister.digest.Digest;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The escape and exfiltration suite ({@code deploy/probes/probe.py}) run as jobs through the real service, under
 * each shipped policy, on the real engine. Fails on every probe that reports "allowed" (or "error") unless the
 * policy lists it under {@code acceptedExceptions}, on every accepted exception that no longer reports "allowed",
 * and on any key probe whose outcome differs from the expected one.
 *
 * <p>Three jobs per policy: the suite without the resource bombs, then the fork bomb, then the memory bomb, each
 * alone, because under gVisor a pids or memory overrun ends the whole sandbox. Where that happens the probe leaves
 * no verdict line; the job's end (OOM-killed, or a non-zero exit of the sandbox) after the probe's "starting" line
 * is then the verdict. Jobs run one at a time, so that the CPU probe shares the host with no other job.
 */
@QuarkusTest
class ProbeSuiteTest {

    private static final String PROBE = "/opt/cloister/probe/probe.py";
    private static final List<String> BOMBS = List.of("fork_bomb", "memory_bomb");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Outcomes that must hold under both policies, whatever else the suite reports. */
    private static final Map<String, String> EXPECTED = expected(
            "sock_vsock", "sock_netlink", "sock_packet", "sock_raw", "sock_families", "io_uring",
            "unix_docker_socket", "unix_abstract_host", "ptrace_sibling", "ptrace_traceme", "process_vm_readv",
            "net_tcp_egress", "net_tcp6_egress", "net_udp_egress", "net_dns_egress", "net_icmp_ping",
            "net_interfaces", "net_routes", "unshare_namespaces", "clone_namespaces", "setns", "mount", "fsopen",
            "keyctl", "bpf", "perf_event_open", "userfaultfd", "setuid_binary", "capabilities", "no_new_privs",
            "seccomp_filter", "seccomp_other_abi", "open_by_handle_at", "mknod_block_device", "rootfs_write",
            "dataset_write", "host_processes", "fill_tmp", "fill_shm", "fill_out", "cpu_cap", "fork_bomb",
            "memory_bomb");

    private static String probeImage;

    @Inject
    Policies policies;

    private static Map<String, String> expected(String... blocked) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : blocked) {
            m.put(p, "blocked");
        }
        return m;
    }

    @BeforeEach
    void requireProbeImage() throws IOException {
        if (probeImage != null) {
            return;
        }
        DockerClient docker;
        try {
            docker = DockerClientFactory.instance().client();
        } catch (RuntimeException e) {
            throw new IllegalStateException("no Docker engine answers: run deploy/host-setup.sh first", e);
        }
        InspectImageResponse image;
        try {
            image = docker.inspectImageCmd("cloister/probe:latest").exec();
        } catch (NotFoundException e) {
            fail("the probe image cloister/probe:latest is missing: run deploy/probes/build.sh");
            return;
        }
        // The image must carry this checkout's probe.py, or the suite would test yesterday's probes.
        String built = image.getConfig().getLabels() == null ? null
                : image.getConfig().getLabels().get("dev.cloister.probe-sha256");
        String here = Digest.of(Files.readAllBytes(Path.of("deploy/probes/probe.py"))).hex();
        assertEquals(here, built, "cloister/probe:latest was built from another probe.py: run deploy/probes/build.sh");
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\"}").post("/api/v1/datasets")
                .then().statusCode(201);
        probeImage = "cloister/probe@" + image.getId();
    }

    @Test
    void restrictedBlocksEveryMove() throws IOException {
        runSuite("restricted", "runc", Duration.ofMinutes(4));
    }

    @Test
    void strictBlocksEveryMove() throws IOException {
        runSuite("strict", "runsc", Duration.ofMinutes(8));
    }

    private void runSuite(String policyName, String runtime, Duration budget) throws IOException {
        Policy policy = policies.find(policyName).orElseThrow();
        Instant start = Instant.now();
        Map<String, JsonNode> results = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();

        Run suite = run(policy, List.of("--skip", String.join(",", BOMBS)), budget);
        assertEquals(runtime, suite.job.getString("runtime"), suite.job.prettify());
        if (suite.summary == null) {
            problems.add("the suite printed no summary line (job " + suite.job.getString("state") + ", exit "
                    + suite.job.get("exitCode") + "); log:\n" + suite.log);
        }
        if (!Integer.valueOf(0).equals(suite.job.get("exitCode"))) {
            problems.add("the suite exited " + suite.job.get("exitCode") + " (" + suite.job.getString("reason") + ")");
        }
        results.putAll(suite.results);
        for (String bomb : BOMBS) {
            Run r = run(policy, List.of("--only", bomb), budget);
            results.put(bomb, r.results.containsKey(bomb) ? r.results.get(bomb) : sandboxEnded(bomb, r, runtime));
        }
        Duration took = Duration.between(start, Instant.now());
        report(policy, results, took, suite.summary);

        if (results.size() < 30) {
            problems.add("only " + results.size() + " probes reported (at least 30 expected)");
        }
        for (JsonNode r : results.values()) {
            String name = r.get("probe").asText();
            String outcome = r.get("outcome").asText();
            if (outcome.equals("allowed") && policy.acceptedException(name).isEmpty()) {
                problems.add("ALLOWED " + name + ": " + r.get("detail").asText()
                        + " (not in " + policyName + "'s acceptedExceptions)");
            } else if (outcome.equals("error")) {
                problems.add("ERROR " + name + " (undecided, counts as not blocked): " + r.get("detail").asText());
            }
        }
        for (Policy.AcceptedException e : policy.acceptedExceptions()) {
            JsonNode r = results.get(e.probe());
            if (r == null || !r.get("outcome").asText().equals("allowed")) {
                problems.add("STALE acceptedExceptions entry " + e.probe() + ": the probe "
                        + (r == null ? "did not run" : "reported " + r.get("outcome").asText() + " ("
                        + r.get("detail").asText() + ")") + "; remove the entry from policies/" + policyName + ".yaml");
            }
        }
        EXPECTED.forEach((name, outcome) -> {
            JsonNode r = results.get(name);
            String got = r == null ? "(not run)" : r.get("outcome").asText();
            if (!got.equals(outcome)) {
                problems.add("KEY PROBE " + name + " expected " + outcome + ", got " + got
                        + (r == null ? "" : ": " + r.get("detail").asText()));
            }
        });
        if (!problems.isEmpty()) {
            fail(problems.size() + " problem(s) with the probe suite under policy '" + policyName + "':\n  "
                    + String.join("\n  ", problems));
        }
    }

    /** A bomb that left no verdict: blocked only if the probe started it and the sandbox then ended abnormally. */
    private static JsonNode sandboxEnded(String bomb, Run r, String runtime) {
        String state = r.job.getString("state");
        Object exit = r.job.get("exitCode");
        boolean started = r.log.contains("probe.py: " + bomb + " starting");
        String outcome;
        String detail;
        if (started && state.equals("OOM_KILLED")) {
            outcome = "blocked";
            detail = "no verdict line: the whole sandbox was OOM-killed at the memory limit (job OOM_KILLED, exit "
                    + exit + ")";
        } else if (started && runtime.equals("runsc") && state.equals("FAILED") && exit != null
                && !Integer.valueOf(0).equals(exit)) {
            outcome = "blocked";
            detail = "no verdict line: the sandbox ended with exit " + exit + " during the bomb (runsc ends the whole "
                    + "sandbox when the pids cap stops its own threads)";
        } else {
            outcome = "error";
            detail = "no verdict line and no limit kill to explain it: job " + state + ", exit " + exit
                    + (started ? "" : ", and the probe never started") + "; log:\n" + r.log;
        }
        return JSON.createObjectNode().put("probe", bomb).put("outcome", outcome).putNull("errno")
                .put("detail", detail).put("seconds", r.seconds).put("synthesized", true);
    }

    private record Run(JsonPath job, String log, Map<String, JsonNode> results, JsonNode summary, double seconds) {
    }

    private Run run(Policy policy, List<String> args, Duration max) {
        Instant t0 = Instant.now();
        StringBuilder command = new StringBuilder("[\"python3\",\"" + PROBE + "\"");
        for (String a : args) {
            command.append(",\"").append(a).append('"');
        }
        command.append(']');
        // The limits the probes compare against: the policy's, as admission will apply them.
        String hyperparameters = String.format(Locale.ROOT, "{\"expect_memory\":%d,\"expect_cpus\":%s,"
                        + "\"expect_pids\":%d,\"expect_tmp\":%d,\"expect_shm\":%d,\"expect_out\":%d}",
                policy.limits().memory().bytes(), policy.limits().cpus(), policy.limits().pids(),
                policy.tmpSize().bytes(), policy.shmSize().bytes(), policy.outputSize().bytes());
        String body = "{\"name\":\"probe-suite\",\"team\":\"security\",\"policy\":\"" + policy.name() + "\","
                + "\"image\":\"" + probeImage + "\",\"command\":" + command + ",\"dataset\":\"breast-cancer\","
                + "\"hyperparameters\":" + hyperparameters + "}";
        String id = given().contentType(ContentType.JSON).body(body).post("/api/v1/jobs").then().statusCode(201)
                .body("state", equalTo("QUEUED")).extract().path("id");
        JsonPath job = awaitEnd(id, max);
        String log = given().get("/api/v1/jobs/" + id + "/logs").then().statusCode(200).extract().asString();
        Map<String, JsonNode> results = new LinkedHashMap<>();
        JsonNode summary = null;
        for (String line : log.split("\n")) {
            String l = line.strip();
            if (!l.startsWith("{")) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(l);
                if (n.hasNonNull("probe") && n.hasNonNull("outcome")) {
                    results.put(n.get("probe").asText(), n);
                } else if (n.has("summary")) {
                    summary = n.get("summary");
                }
            } catch (IOException e) {
                // not one of the probe's lines
            }
        }
        return new Run(job, log, results, summary, Duration.between(t0, Instant.now()).toMillis() / 1000.0);
    }

    private static JsonPath awaitEnd(String id, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath job = given().get("/api/v1/jobs/" + id).then().statusCode(200).extract().jsonPath();
            if (!List.of("QUEUED", "RUNNING", "SUCCEEDED", "SEALED", "PACKAGED").contains(job.getString("state"))) {
                return job;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        fail("probe job " + id + " did not end within " + max);
        return null;
    }

    // A table for the build log, and the raw results under target/ for the README's outcome columns.
    private static void report(Policy policy, Map<String, JsonNode> results, Duration took, JsonNode summary)
            throws IOException {
        StringBuilder table = new StringBuilder("probe suite under '" + policy.name() + "': " + results.size()
                + " probes; the suite without the bombs ran " + (summary == null ? "?" : summary.path("seconds").asText())
                + " s in its container; three jobs took " + took.toSeconds() + " s through the service\n");
        StringBuilder jsonl = new StringBuilder();
        for (JsonNode r : results.values()) {
            String name = r.get("probe").asText();
            String outcome = r.get("outcome").asText();
            String mark = outcome.equals("allowed") && policy.acceptedException(name).isPresent() ? " (accepted)" : "";
            table.append(String.format(Locale.ROOT, "  %-22s %-15s %6.2fs  %s%n", name, outcome + mark,
                    r.path("seconds").asDouble(), r.get("detail").asText()));
            jsonl.append(JSON.writeValueAsString(r)).append('\n');
        }
        System.out.print(table);
        Path dir = Path.of("target", "probe-suite");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(policy.name() + ".jsonl"), jsonl, StandardCharsets.UTF_8);
    }
}
