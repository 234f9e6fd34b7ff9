package dev.cloister.api;

import dev.cloister.audit.StoredAudit;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reviewer's policy report over REST (JSON and Markdown), and refusals of a probe run. */
@QuarkusTest
class PolicyReportApiTest {


    @Test
    void reportShowsSettingsAndTheSeccompSummary() {
        given().get("/api/v1/policies/restricted/report").then().statusCode(200)
                .body("settings.name", equalTo("restricted"))
                .body("settings.runtime", equalTo("runc"))
                .body("settings.network", equalTo("none"))
                .body("settings.user", equalTo("1000:1000"))
                .body("settings.digest", startsWith("sha256:"))
                .body("seccomp.defaultAction", equalTo("SCMP_ACT_ERRNO"))
                .body("seccomp.socketFamilies.allowed", equalTo(List.of("AF_UNIX")))
                .body("seccomp.socketFamilies.blocked", hasItems("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"))
                .body("versusDocker.removed", hasItems("ptrace", "socket"))
                .body("generatedAt", not(equalTo(null)));
        given().get("/api/v1/policies/strict/report").then().statusCode(200)
                .body("settings.runtime", equalTo("runsc"))
                .body("settings.seccompProfile", equalTo("training-gvisor.json"));
    }

    @Test
    void reportRendersAsMarkdownForSignOff() {
        String md = given().accept("text/markdown").get("/api/v1/policies/restricted/report").then().statusCode(200)
                .contentType(containsString("text/markdown")).extract().asString();
        assertTrue(md.startsWith("# Policy report: restricted\n"), md);
        for (String part : List.of("## Effective container settings", "| network | none |", "| user | 1000:1000 |",
                "## Seccomp profile", "Socket families allowed: AF_UNIX", "Refused here, allowed by Docker:",
                "## CIS Docker Benchmark v1.6.0, section 5", "## Escape and exfiltration probes")) {
            assertTrue(md.contains(part), "missing '" + part + "' in:\n" + md);
        }
    }

    @Test
    void unknownPolicyIs404() {
        given().get("/api/v1/policies/nope/report").then().statusCode(404)
                .contentType(Problem.MEDIA_TYPE).body("detail", containsString("no policy named 'nope'"));
        given().contentType(ContentType.JSON).body("{\"image\":\"x\"}").post("/api/v1/policies/nope/probes")
                .then().statusCode(404);
    }

    @Test
    void probeRunNeedsAPinnedImageAndIsAudited() throws Exception {
        long before = StoredAudit.lines().size();
        given().contentType(ContentType.JSON).body("{}").post("/api/v1/policies/restricted/probes")
                .then().statusCode(400).contentType(Problem.MEDIA_TYPE)
                .body("detail", containsString("pinned by digest"));
        given().contentType(ContentType.JSON).body("{\"image\":\"cloister/probe:latest\",\"dataset\":\"breast-cancer\"}")
                .post("/api/v1/policies/restricted/probes").then().statusCode(422)
                .body("violations.field", hasItems("image"));
        given().contentType(ContentType.JSON).body("{\"image\":\"cloister/probe@sha256:" + "a".repeat(64)
                        + "\",\"extra\":1}").post("/api/v1/policies/restricted/probes").then().statusCode(400)
                .body("detail", containsString("extra: unknown field"));
        List<String> lines = StoredAudit.lines();
        assertTrue(lines.subList((int) before, lines.size()).stream()
                .anyMatch(l -> l.contains("\"action\":\"request.refused\"") && l.contains("policies/restricted/probes")),
                "no refusal audited");
        given().get("/api/v1/policies/restricted/report").then().statusCode(200).body("probeRunning", equalTo(null));
    }
}
