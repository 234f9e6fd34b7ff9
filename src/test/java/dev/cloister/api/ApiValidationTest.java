package dev.cloister.api;

import dev.cloister.audit.StoredAudit;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input gets a 4xx problem+json with every reason, is audited, and never leaves a job behind. */
@QuarkusTest
class ApiValidationTest {

    private static final String PINNED = "cloister/trainer-base@sha256:" + "d".repeat(64);

    private static String spec(String extra) {
        return "{\"name\":\"t\",\"team\":\"test\",\"image\":\"" + PINNED + "\",\"command\":[\"true\"]" + extra + "}";
    }

    private static ValidatableResponse post(String body, ContentType type) {
        return given().contentType(type).body(body).when().post("/api/v1/jobs").then();
    }

    private static ValidatableResponse refused(String body) {
        return post(body, ContentType.JSON).statusCode(422)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:admission-refused"));
    }

    private static int jobCount() {
        return given().get("/api/v1/jobs").then().statusCode(200).extract().jsonPath().getList("$").size();
    }

    // Signed checkpoints come every few entries (the test profile); they are not what these tests count.
    private static List<String> auditEntries() throws Exception {
        return StoredAudit.lines().stream()
                .filter(l -> !l.contains("\"action\":\"audit.checkpoint\"")).toList();
    }

    @Test
    void malformedJsonIs400() {
        post("{\"name\": ", ContentType.JSON).statusCode(400).contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:malformed-body"))
                .body("detail", startsWith("not valid JSON"));
    }

    @Test
    void malformedYamlIs400() {
        given().contentType("application/yaml").body("name: [oops\n".getBytes()).post("/api/v1/jobs").then()
                .statusCode(400).contentType("application/problem+json").body("detail", startsWith("not valid YAML"));
    }

    @Test
    void oversizedBodyIs413() {
        String big = spec(",\"env\":{\"PAD\":\"" + "x".repeat(70_000) + "\"}");
        post(big, ContentType.JSON).statusCode(413).contentType("application/problem+json")
                .body("type", equalTo("urn:cloister:problem:body-too-large"));
    }

    @Test
    void bodyOverTheHttpLimitIsStill413() {
        post(spec(",\"env\":{\"PAD\":\"" + "x".repeat(3_000_000) + "\"}"), ContentType.JSON).statusCode(413);
    }

    @Test
    void unknownFieldIs422NamingIt() {
        refused(spec(",\"colour\":\"red\"")).body("violations.field", hasItem("colour"))
                .body("violations.reason", hasItem("unknown field"));
    }

    @Test
    void hostAccessRequestsAre422NamingEach() {
        refused(spec(",\"privileged\":true,\"volumes\":[\"/:/host\"],\"network\":\"host\",\"capAdd\":[\"SYS_ADMIN\"]"))
                .body("violations.field", hasItems("privileged", "volumes", "network", "capAdd"));
    }

    @Test
    void unpinnedImageIs422() {
        post("{\"name\":\"t\",\"team\":\"test\",\"image\":\"cloister/trainer-base:latest\",\"command\":[\"true\"]}",
                ContentType.JSON).statusCode(422)
                .body("violations[0].field", equalTo("image"))
                .body("violations[0].reason", containsString("not pinned"));
    }

    @Test
    void imageOutsideAllowListIs422() {
        post("{\"name\":\"t\",\"team\":\"test\",\"image\":\"evil/miner@sha256:" + "e".repeat(64) + "\",\"command\":[\"true\"]}",
                ContentType.JSON).statusCode(422)
                .body("violations[0].reason", containsString("not allowed by policy 'restricted'"));
    }

    @Test
    void datasetTraversalIs422() {
        refused(spec(",\"dataset\":\"../../etc\"")).body("violations.field", hasItem("dataset"))
                .body("violations.reason", hasItem(containsString("not a path")));
    }

    @Test
    void unregisteredDatasetIs422() {
        refused(spec(",\"dataset\":\"nope\"")).body("violations.reason", hasItem("no registered dataset 'nope' of team 'test'"));
    }

    @Test
    void resourcesOverTheCapAre422() {
        refused(spec(",\"resources\":{\"memory\":\"64g\",\"pids\":100000},\"maxRuntime\":\"48h\""))
                .body("violations.field", hasItems("resources.memory", "resources.pids", "maxRuntime"));
    }

    @Test
    void unknownPolicyIs422() {
        refused(spec(",\"policy\":\"yolo\"")).body("violations[0].field", equalTo("policy"))
                .body("violations[0].reason", containsString("unknown policy 'yolo'"));
    }

    @Test
    void yamlSpecIsCheckedTheSameWay() {
        given().contentType("application/yaml").body(("name: t\nteam: test\nimage: " + PINNED + "\ncommand: [\"true\"]\nhostPid: true\n").getBytes())
                .post("/api/v1/jobs").then().statusCode(422).body("violations.field", hasItem("hostPid"));
    }

    @Test
    void unsupportedMediaTypeIs415() {
        given().contentType(ContentType.TEXT).body("hello").post("/api/v1/jobs").then().statusCode(415)
                .contentType("application/problem+json");
    }

    @Test
    void unknownJobIs404() {
        given().get("/api/v1/jobs/job-" + "0".repeat(32)).then().statusCode(404).contentType("application/problem+json");
        given().get("/api/v1/jobs/../../etc/passwd").then().statusCode(404);
        given().post("/api/v1/jobs/not-an-id/cancel").then().statusCode(404).contentType("application/problem+json");
    }

    @Test
    void datasetRegistrationRefusesPaths() {
        given().contentType(ContentType.JSON).body("{\"name\":\"../etc\"}").post("/api/v1/datasets").then()
                .statusCode(422).contentType("application/problem+json");
        given().contentType(ContentType.JSON).body("{\"name\":\"breast-cancer\",\"path\":\"/etc\"}").post("/api/v1/datasets")
                .then().statusCode(400).contentType("application/problem+json").body("violations[0].field", equalTo("path"));
        given().contentType(ContentType.JSON).body("{\"name\":\"no-such-dataset\"}").post("/api/v1/datasets").then()
                .statusCode(404);
    }

    @Test
    void refusalsAreAuditedAndLeaveNoJob() throws Exception {
        int jobs = jobCount();
        long audited = auditEntries().size();
        post("{\"name\": ", ContentType.JSON).statusCode(400);
        refused(spec(",\"privileged\":true"));
        assertEquals(jobs, jobCount(), "a refused submission leaves no job");
        List<String> lines = auditEntries();
        assertEquals(audited + 2, lines.size());
        assertTrue(lines.get(lines.size() - 1).contains("\"outcome\":\"refused\""), lines.get(lines.size() - 1));
        assertTrue(lines.get(lines.size() - 1).contains("privileged"), "the audit names the violation");
    }

    @Test
    void problemsNeverLeakInternals() {
        post("{\"name\": ", ContentType.JSON).statusCode(400)
                .body(not(containsString("Exception"))).body(not(containsString("at dev.cloister")));
    }

    @Test
    void openApiAndHealthAreServed() {
        given().get("/q/openapi").then().statusCode(200).body(containsString("/api/v1/jobs"));
        given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void policiesShowTheirEffectiveSettings() {
        given().get("/api/v1/policies/restricted").then().statusCode(200)
                .body("runtime", equalTo("runc")).body("network", equalTo("none"))
                .body("user", equalTo("1000:1000")).body("capabilities", equalTo("none (all dropped)"));
        given().get("/api/v1/policies/strict").then().statusCode(200).body("runtime", equalTo("runsc"));
    }
}
