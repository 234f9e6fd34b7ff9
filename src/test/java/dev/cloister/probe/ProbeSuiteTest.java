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
        // The product runs the suite (POST .../probes) and records it; the test asserts what was recorded.
        String since = given().contentType(ContentType.JSON).body("{\"image\":\"" + probeImage + "\"}")
                .post("/api/v1/policies/" + policyName + "/probes").then().statusCode(202)
                .body("policy", equalTo(policyName)).extract().path("since");
        JsonPath evidence = awaitEvidence(policyName, since, budget);
        Duration took = Duration.between(start, Instant.now());
        for (String job : evidence.getList("jobs", String.class)) {
            given().get("/api/v1/jobs/" + job).then().statusCode(200).body("policy", equalTo(policyName))
                    .body("runtime", equalTo(runtime));
        }
        Map<String, JsonNode> results = new LinkedHashMap<>();
        for (JsonNode r : JSON.readTree(evidence.prettify()).get("results")) {
            results.put(r.get("probe").asText(), r);
        }
        report(policy, results, took);

        List<String> problems = new ArrayList<>(evidence.getList("problems", String.class));
        if (results.size() < 30) {
            problems.add("only " + results.size() + " probes reported (at least 30 expected)");
        }
        EXPECTED.forEach((name, outcome) -> {
            JsonNode r = results.get(name);
            String got = r == null ? "(not run)" : r.get("outcome").asText();
            if (!got.equals(outcome)) {
                problems.add("KEY PROBE " + name + " expected " + outcome + ", got " + got
                        + (r == null ? "" : ": " + r.get("detail").asText()));
            }
        });
        // The reviewer's report shows this run, dated, and the CIS results of one of its containers.
        String markdown = given().accept("text/markdown").get("/api/v1/policies/" + policyName + "/report")
                .then().statusCode(200).extract().asString();
        if (!markdown.contains("Latest run " + evidence.getString("startedAt"))) {
            problems.add("the policy report does not show the run of " + evidence.getString("startedAt"));
        }
        if (!markdown.contains("## CIS Docker Benchmark") || markdown.contains("No job has run under this policy")) {
            problems.add("the policy report shows no CIS results after the probe jobs ran");
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " problem(s) with the probe suite under policy '" + policyName + "':\n  "
                    + String.join("\n  ", problems));
        }
    }

    private static JsonPath awaitEvidence(String policy, String since, Duration max) {
        Instant deadline = Instant.now().plus(max);
        while (Instant.now().isBefore(deadline)) {
            JsonPath report = given().get("/api/v1/policies/" + policy + "/report").then().statusCode(200)
                    .extract().jsonPath();
            if (report.get("probeRunning") == null) {
                JsonPath evidence = given().get("/api/v1/policies/" + policy + "/probes").then().statusCode(200)
                        .extract().jsonPath();
                assertEquals(Instant.parse(since), Instant.parse(evidence.getString("startedAt")),
                        "the probe run ended without recording its results (see the service log)");
                return evidence;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        fail("the probe run under " + policy + " did not end within " + max);
        return null;
    }

    // A table for the build log, and the raw results under target/ for the README's outcome columns.
    private static void report(Policy policy, Map<String, JsonNode> results, Duration took) throws IOException {
        StringBuilder table = new StringBuilder("probe suite under '" + policy.name() + "': " + results.size()
                + " probes; three jobs took " + took.toSeconds() + " s through the service\n");
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
