package dev.cloister.api;

import dev.cloister.audit.StoredAudit;

import dev.cloister.cli.Cloister;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET /api/v1/audit: filters, bad filters as 400, and a JSON-lines export that {@code cloister audit verify} accepts
 * with the host's public keys (the test profile signs a checkpoint every 5 entries) and rejects once edited.
 */
@QuarkusTest
class AuditApiTest {


    /** Makes a few refused requests, each of them audited; at least five entries, so a checkpoint follows. */
    private static void refuseSomeRequests() {
        for (int i = 0; i < 5; i++) {
            given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\",\"path\":\"/etc\"}")
                    .post("/api/v1/datasets").then().statusCode(400);
        }
    }

    @Test
    void entriesComeAsAJsonArrayAndFilter() {
        refuseSomeRequests();
        JsonPath all = given().get("/api/v1/audit").then().statusCode(200).contentType(ContentType.JSON)
                .extract().jsonPath();
        List<Integer> seqs = all.getList("seq", Integer.class);
        assertTrue(seqs.size() >= 5, "entries: " + seqs.size());
        for (int i = 1; i < seqs.size(); i++) {
            assertEquals(seqs.get(i - 1) + 1, seqs.get(i), "in log order, without gaps");
        }

        given().get("/api/v1/audit?action=policy.load").then().statusCode(200)
                .body("action", everyItem(equalTo("policy.load"))).body("subject", org.hamcrest.Matchers.hasItem("restricted"));
        given().get("/api/v1/audit?action=request.refused&limit=1").then().statusCode(200).body("$", hasSize(1))
                .body("[0].subject", equalTo("POST /api/v1/datasets"))
                .body("[0].details.status", equalTo(400))
                .body("[0].details.reason", equalTo("path: unknown field"));
        given().get("/api/v1/audit?actor=cloister&action=audit.checkpoint").then().statusCode(200)
                .body("actor", everyItem(equalTo("cloister"))).body("details.keyId.size()", org.hamcrest.Matchers.greaterThan(0));
        given().get("/api/v1/audit?from=2999-01-01T00:00:00Z").then().statusCode(200).body("$", hasSize(0));
        given().get("/api/v1/audit?to=2000-01-01T00:00:00Z").then().statusCode(200).body("$", hasSize(0));
        given().get("/api/v1/audit?job=job-" + "0".repeat(32)).then().statusCode(200).body("$", hasSize(0));
        given().get("/api/v1/audit?limit=3").then().statusCode(200).body("$", hasSize(lessThanOrEqualTo(3)));
    }

    @Test
    void badFiltersAre400AndAudited() {
        given().get("/api/v1/audit?from=yesterday").then().statusCode(400).contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:bad-request"))
                .body("detail", equalTo("from: not an ISO-8601 instant such as 2025-01-02T03:04:05Z"));
        given().get("/api/v1/audit?job=../../etc&limit=0").then().statusCode(400)
                .body("detail", equalTo("job: not a job id (job-<32 hex digits>); limit: must be from 1 to 10000"));
        given().get("/api/v1/audit?format=xml").then().statusCode(400).body("detail", containsString("format"));

        given().get("/api/v1/audit?action=request.refused&limit=3").then().statusCode(200)
                .body("subject", everyItem(equalTo("GET /api/v1/audit")))
                .body("[0].details.reason", equalTo("from: not an ISO-8601 instant such as 2025-01-02T03:04:05Z"))
                .body("[2].details.reason", equalTo("format: must be json or jsonl"));
    }

    @Test
    void theJsonLinesExportVerifiesWithTheHostKeysAndFailsOnceEdited(@TempDir Path tmp) throws Exception {
        refuseSomeRequests();
        String exported = given().accept("application/x-ndjson").get("/api/v1/audit").then().statusCode(200)
                .contentType("application/x-ndjson").extract().asString();
        String byFormat = given().get("/api/v1/audit?format=jsonl").then().statusCode(200).extract().asString();
        assertTrue(byFormat.startsWith(exported), "both ways give the stored lines");
        List<String> stored = StoredAudit.lines();
        List<String> lines = exported.lines().toList();
        assertEquals(stored.subList(0, lines.size()), lines, "exactly as stored");
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"action\":\"audit.checkpoint\"")), "a checkpoint is in it");

        List<String> keyArgs = new ArrayList<>();
        List<Map<String, Object>> keys = given().get("/api/v1/keys").then().statusCode(200).extract().jsonPath().getList("$");
        for (Map<String, Object> k : keys) {
            Path pem = Files.writeString(tmp.resolve(k.get("id") + ".pub.pem"), (String) k.get("pem"));
            keyArgs.add("--key");
            keyArgs.add(pem.toString());
        }
        Path export = Files.writeString(tmp.resolve("audit.jsonl"), exported);
        String verified = run(0, export, keyArgs);
        assertTrue(verified.startsWith("VERIFIED: "), verified);
        assertTrue(verified.contains("checkpoint(s) verified"), verified);

        // Edit one detail of the last refused-request entry, as someone with access to the export could.
        int k = lines.size() - 1;
        while (!lines.get(k).contains("\"action\":\"request.refused\"")) {
            k--;
        }
        List<String> edited = new ArrayList<>(lines);
        edited.set(k, lines.get(k).replace("\"status\":400", "\"status\":200"));
        long seq = Long.parseLong(lines.get(k).replaceFirst("^\\{\"seq\":(\\d+),.*", "$1"));
        Path tampered = Files.write(tmp.resolve("edited.jsonl"), edited);
        String refused = run(1, tampered, keyArgs);
        assertTrue(refused.contains("entry " + seq + ": hash does not match its content (edited)"), refused);
        assertTrue(refused.startsWith("NOT VERIFIED: "), refused);
    }

    @Test
    void anUnreadableSpecIsAuditedWithoutQuotingIt() throws Exception {
        // Jackson's message quotes the unrecognised token; an env value must not reach the audit log that way.
        given().contentType(ContentType.JSON).body("{\"name\":\"t\",\"env\":{\"TOKEN\": s3cr3tvalue}}")
                .post("/api/v1/jobs").then().statusCode(400).contentType("application/problem+json");
        String last = given().get("/api/v1/audit?action=job.submit&limit=1").then().statusCode(200).extract().asString();
        assertTrue(last.contains("\"reason\":\"not valid JSON at line 1, column"), last);
        assertFalse(String.join("\n", StoredAudit.lines()).contains("s3cr3tvalue"), "the audit log holds no fragment of the body");
    }

    /** Runs {@code cloister audit verify}, checks its exit code and returns what it printed. */
    private static String run(int exitCode, Path export, List<String> keyArgs) {
        List<String> args = new ArrayList<>(List.of("audit", "verify", export.toString()));
        args.addAll(keyArgs);
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(exitCode, Cloister.run(args.toArray(String[]::new)), out.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
