package dev.cloister.auth;

import dev.cloister.audit.StoredAudit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.cli.Cloister;
import dev.cloister.keys.HostKeyMaterial;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.keys.HmacKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Authentication, roles and team isolation against the real service (its own data dir, see {@link AuthProfile}):
 * every endpoint × every role × own team / other team / no token / expired / another key / {@code alg: none} (and
 * other forged tokens) → the expected status, each refusal as problem+json and audited; datasets of another team
 * cannot be mounted by name, digest or path; rate limits; HTTPS; the CLI's token and login; and no key material in
 * any response or log line.
 */
@QuarkusTest
@TestProfile(AuthProfile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String PROBLEM = "application/problem+json";

    /** Every response body this class received, scanned for key material at the end. */
    private static final StringBuilder RESPONSES = new StringBuilder();
    /** Every token this class issued through {@link #token}, looked for in the logs at the end. */
    private static final List<String> ISSUED = java.util.Collections.synchronizedList(new ArrayList<>());
    /** A job of team test that mounted its own dataset and was published. */
    private static String jobId;
    private static String image;

    @TestHTTPResource(value = "/", tls = true)
    URL httpsRoot;

    @jakarta.inject.Inject
    io.smallrye.jwt.auth.principal.JWTParser parser;

    @BeforeEach
    void aPublishedJobOfTeamTest() throws Exception {
        if (jobId != null) {
            return;
        }
        image = "cloister/trainer-base@" + DockerClientFactory.instance().client()
                .inspectImageCmd("cloister/trainer-base:bookworm").exec().getId();
        String admin = token("admin", "test", Roles.ADMIN);
        assertEquals(201, send("POST", "/api/v1/datasets", "{\"name\":\"alpha\"}", admin).statusCode());
        assertEquals(201, send("POST", "/api/v1/datasets", "{\"name\":\"beta\",\"team\":\"other\"}", admin).statusCode());
        String program = "import os\\nprint('rows', len(open('/data/data.csv').read().splitlines()))\\n"
                + "open('/out/model.txt','w').write('m')";
        HttpResponse<String> r = send("POST", "/api/v1/jobs", spec("test", "\"dataset\":\"alpha\",\"command\":"
                + "[\"python3\",\"-c\",\"" + program + "\"]"), token("alice", "test", Roles.SUBMITTER));
        assertEquals(201, r.statusCode(), r.body());
        jobId = JSON.readTree(r.body()).get("id").asText();
        String reviewer = token("rita", "test", Roles.REVIEWER);
        Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
        JsonNode job;
        do {
            Thread.sleep(500);
            job = JSON.readTree(send("GET", "/api/v1/jobs/" + jobId, null, reviewer).body());
        } while (!Set.of("PUBLISHED", "FAILED", "CANCELLED", "TIMED_OUT", "OOM_KILLED").contains(job.get("state").asText())
                && Instant.now().isBefore(deadline));
        assertEquals("PUBLISHED", job.get("state").asText(), job.toString());
    }

    // ---- the matrix ------------------------------------------------------------------------------------------------

    /** Which team's tokens an allowed role needs. */
    enum Scope {
        /** Not a team's resource: any team. */
        ANY,
        /** A job of team test: another team's token gets 404, as for an unknown id. */
        OWN_TEAM,
        /** Job metadata: reviewers read every team's; others get 404 for another team's. */
        OWN_TEAM_OR_REVIEWER,
        /** A policy: submitters of a team the policy does not name get 404; other roles read every policy. */
        POLICY_TEAMS
    }

    record Endpoint(String method, String path, String body, int allowed, Scope scope, Set<String> roles) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    record Caller(String name, String token, String role, boolean ownTeam) {
    }

    private static List<Endpoint> endpoints() {
        String job = "/api/v1/jobs/" + jobId;
        Set<String> any = Set.copyOf(Roles.ALL);
        Set<String> sub = Set.of(Roles.SUBMITTER);
        Set<String> rev = Set.of(Roles.REVIEWER);
        Set<String> admin = Set.of(Roles.ADMIN);
        Set<String> jobReaders = Set.of(Roles.SUBMITTER, Roles.DEPLOYER, Roles.REVIEWER);
        return List.of(
                new Endpoint("GET", "/api/v1/whoami", null, 200, Scope.ANY, any),
                new Endpoint("POST", "/api/v1/jobs", "{}", 422, Scope.ANY, sub),
                new Endpoint("GET", "/api/v1/jobs", null, 200, Scope.ANY, jobReaders),
                new Endpoint("GET", job, null, 200, Scope.OWN_TEAM_OR_REVIEWER, jobReaders),
                new Endpoint("GET", job + "/cis", null, 200, Scope.OWN_TEAM_OR_REVIEWER, jobReaders),
                new Endpoint("POST", job + "/cancel", "", 200, Scope.OWN_TEAM, sub),
                new Endpoint("GET", job + "/logs", null, 200, Scope.OWN_TEAM, sub),
                new Endpoint("GET", job + "/artifacts", null, 200, Scope.OWN_TEAM, Set.of(Roles.SUBMITTER, Roles.DEPLOYER)),
                new Endpoint("GET", job + "/provenance", null, 200, Scope.OWN_TEAM, Set.of(Roles.SUBMITTER, Roles.DEPLOYER)),
                new Endpoint("POST", "/api/v1/datasets", "{\"name\":\"Not A Name\"}", 422, Scope.ANY, admin),
                new Endpoint("GET", "/api/v1/datasets", null, 200, Scope.ANY, Set.of(Roles.SUBMITTER, Roles.ADMIN)),
                new Endpoint("GET", "/api/v1/policies", null, 200, Scope.ANY, Set.of(Roles.REVIEWER, Roles.SUBMITTER, Roles.ADMIN)),
                new Endpoint("GET", "/api/v1/policies/strict", null, 200, Scope.POLICY_TEAMS,
                        Set.of(Roles.REVIEWER, Roles.SUBMITTER, Roles.ADMIN)),
                new Endpoint("GET", "/api/v1/policies/restricted/report", null, 200, Scope.ANY, rev),
                new Endpoint("GET", "/api/v1/policies/no-such-policy/probes", null, 404, Scope.ANY, rev),
                new Endpoint("POST", "/api/v1/policies/restricted/probes", "{}", 400, Scope.ANY, admin),
                new Endpoint("POST", "/api/v1/policies/reload", "", 200, Scope.ANY, admin),
                new Endpoint("GET", "/api/v1/keys", null, 200, Scope.ANY, Set.of(Roles.DEPLOYER, Roles.REVIEWER, Roles.ADMIN)),
                new Endpoint("POST", "/api/v1/keys/rotate", "", 200, Scope.ANY, admin),
                new Endpoint("POST", "/api/v1/verify/image", "{}", 400, Scope.ANY, Set.of(Roles.DEPLOYER)),
                new Endpoint("GET", "/api/v1/audit?limit=1", null, 200, Scope.ANY, rev),
                // A re-run of the sealed job (the one own-team submitter starts it; other teams get 404).
                new Endpoint("POST", job + "/reproduce", "", 201, Scope.OWN_TEAM, sub),
                new Endpoint("GET", "/api/v1/images", null, 200, Scope.ANY, jobReaders),
                new Endpoint("GET", "/api/v1/federations", null, 200, Scope.ANY, any),
                new Endpoint("POST", "/api/v1/federations", "{}", 422, Scope.ANY, admin),
                new Endpoint("GET", "/api/v1/federations/fed-" + "0".repeat(32), null, 404, Scope.ANY, any));
    }

    private static int expected(Endpoint e, Caller c) {
        if (c.role() == null) {
            return 401;
        }
        if (!e.roles().contains(c.role())) {
            return 403;
        }
        if (c.ownTeam()) {
            return e.allowed();
        }
        return switch (e.scope()) {
            case ANY -> e.allowed();
            case OWN_TEAM -> 404;
            case OWN_TEAM_OR_REVIEWER -> c.role().equals(Roles.REVIEWER) ? e.allowed() : 404;
            case POLICY_TEAMS -> c.role().equals(Roles.SUBMITTER) ? 404 : e.allowed();
        };
    }

    /** Tokens that must never pass: none, expired, another key, alg none, HS256 over the public key, wrong iss/aud. */
    private static List<Caller> forged(@TempDir Path tmp) throws Exception {
        TestTokens tokens = tokens();
        String valid = tokens.issue("mallory", "test", Roles.ALL, Duration.ofHours(1));
        String[] parts = valid.split("\\.");
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String algNone = b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
                + "." + parts[1] + ".";
        JsonWebSignature hs = new JsonWebSignature();
        hs.setPayload(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
        hs.setAlgorithmHeaderValue(AlgorithmIdentifiers.HMAC_SHA256);
        hs.setKeyIdHeaderValue(tokens.keyId());
        hs.setKey(new HmacKey(Files.readAllBytes(AuthProfile.BASE.resolve("state/auth/issuer.pub.pem"))));
        hs.setDoKeyValidation(false);
        IssuerKey otherKey = IssuerKey.openOrCreate(tmp.resolve("other-issuer"));
        Clock past = Clock.offset(Clock.systemUTC(), Duration.ofHours(-2));
        IssuerKey key = IssuerKey.open(AuthProfile.BASE.resolve("state/auth/issuer-key.pem"));
        return List.of(
                new Caller("no token", null, null, true),
                new Caller("not a JWT", "not.a.jwt", null, true),
                new Caller("expired", tokens.issuer(past).issue("mallory", "test", Roles.ALL, Duration.ofHours(1)).token(),
                        null, true),
                new Caller("signed by another key", new TokenIssuer(otherKey, Clock.systemUTC())
                        .issue("mallory", "test", Roles.ALL, Duration.ofHours(1)).token(), null, true),
                new Caller("alg none", algNone, null, true),
                new Caller("HS256 keyed with the public key", hs.getCompactSerialization(), null, true),
                new Caller("signature of another token", parts[0] + "." + parts[1] + "." + tokens.issue("x", "test",
                        Roles.ALL, Duration.ofHours(1)).split("\\.")[2], null, true),
                new Caller("wrong issuer", new TokenIssuer(key, "urn:someone-else", TokenIssuer.DEFAULT_AUDIENCE,
                        Clock.systemUTC()).issue("mallory", "test", Roles.ALL, Duration.ofHours(1)).token(), null, true),
                new Caller("wrong audience", new TokenIssuer(key, TokenIssuer.DEFAULT_ISSUER, "another-api",
                        Clock.systemUTC()).issue("mallory", "test", Roles.ALL, Duration.ofHours(1)).token(), null, true));
    }

    @Test
    @Order(1)
    void everyEndpointRoleTeamAndTokenGivesTheExpectedStatus(@TempDir Path tmp) throws Exception {
        List<Caller> callers = new ArrayList<>();
        for (String role : Roles.ALL) {
            callers.add(new Caller(role + " of team test", token(role + "-test", "test", role), role, true));
            callers.add(new Caller(role + " of team other", token(role + "-other", "other", role), role, false));
        }
        callers.addAll(forged(tmp));
        String unknownJob = "/api/v1/jobs/job-" + "0".repeat(32);
        String notFoundDetail = JSON.readTree(send("GET", unknownJob, null, token("r", "test", Roles.REVIEWER)).body())
                .get("detail").asText();
        long refusalsBefore = refusals(Set.of(401, 403));
        long hiddenBefore = hiddenJobRefusals();
        List<String> mismatches = new ArrayList<>();
        int refusals = 0;
        int hidden = 0;
        for (Endpoint e : endpoints()) {
            for (Caller c : callers) {
                int want = expected(e, c);
                HttpResponse<String> r = send(e.method(), e.path(), e.body(), c.token());
                if (r.statusCode() != want) {
                    mismatches.add(e + " as " + c.name() + ": " + r.statusCode() + ", expected " + want + " " + r.body());
                    continue;
                }
                if (want == 401 || want == 403) {
                    refusals++;
                    assertEquals(PROBLEM, r.headers().firstValue("Content-Type").orElse(""), e + " as " + c.name());
                    JsonNode p = JSON.readTree(r.body());
                    assertEquals("urn:cloister:problem:" + (want == 401 ? "unauthorized" : "forbidden"),
                            p.get("type").asText());
                    if (want == 401) {
                        assertEquals("Bearer", r.headers().firstValue("WWW-Authenticate").orElse(""));
                    }
                }
                if (want == 404 && e.path().contains(jobId)) {
                    hidden++;
                    // Another team's job reads exactly like a job that does not exist.
                    assertEquals(notFoundDetail, JSON.readTree(r.body()).get("detail").asText(), e + " " + c.name());
                }
            }
        }
        assertEquals(List.of(), mismatches);
        assertEquals(refusals, refusals(Set.of(401, 403)) - refusalsBefore, "every 401/403 is audited once");
        assertEquals(hidden, hiddenJobRefusals() - hiddenBefore, "every look at another team's job is audited once");
        // 26 endpoints × 17 callers; 11 looks at another team's job (7 job endpoints × the roles allowed on them).
        assertEquals(11, hidden);
        assertTrue(refusals > 250, refusals + " refusals");
    }

    @Test
    @Order(2)
    void refusalsNameTheActorActionAndSubject() throws Exception {
        send("GET", "/api/v1/audit", null, token("dora", "test", Roles.DEPLOYER));
        send("GET", "/api/v1/jobs/" + jobId + "/logs", null, token("oscar", "other", Roles.SUBMITTER));
        send("GET", "/api/v1/keys", null, null);
        List<JsonNode> entries = audit();
        JsonNode forbidden = last(entries, "dora");
        assertEquals("request.refused", forbidden.get("action").asText());
        assertEquals("GET /api/v1/audit", forbidden.get("subject").asText());
        assertEquals(403, forbidden.get("details").get("status").asInt());
        assertEquals("AuditResource.list", forbidden.get("details").get("operation").asText());
        JsonNode hidden = last(entries, "oscar");
        assertEquals(jobId, hidden.get("subject").asText());
        assertTrue(hidden.get("details").get("reason").asText().contains("another team"), hidden.toString());
        JsonNode anonymous = last(entries, "anonymous"); // jobs may write entries meanwhile
        assertEquals("anonymous", anonymous.get("actor").asText());
        assertEquals("GET /api/v1/keys", anonymous.get("subject").asText());
        assertEquals(401, anonymous.get("details").get("status").asInt());
    }

    /**
     * Verified tokens are remembered (so a read costs no signature check), keyed by every byte of the token: once a
     * token has been accepted, its payload with another signature, or another payload under its signature, is still
     * refused, and the token itself still passes.
     */
    @Test
    @Order(2)
    void aRememberedTokenLendsNothingToTokensThatDifferFromIt() throws Exception {
        assertTrue(io.quarkus.arc.ClientProxy.unwrap(parser) instanceof TokenParser,
                "bearer tokens are parsed by " + parser.getClass());
        String valid = token("vera", "test", Roles.REVIEWER);
        String[] parts = valid.split("\\.");
        assertEquals(200, send("GET", "/api/v1/whoami", null, valid).statusCode());
        String otherSignature = parts[0] + "." + parts[1] + "."
                + token("walt", "test", Roles.REVIEWER).split("\\.")[2];
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        String widened = payload.replace("\"team\":\"test\"", "\"team\":\"other\"");
        assertNotEquals(payload, widened, payload);
        String otherPayload = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(widened.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        String flippedSignature = parts[0] + "." + parts[1] + "." + parts[2].substring(0, parts[2].length() - 2)
                + (parts[2].endsWith("AA") ? "BB" : "AA");
        for (String forged : List.of(otherSignature, otherPayload, flippedSignature)) {
            HttpResponse<String> r = send("GET", "/api/v1/whoami", null, forged);
            assertEquals(401, r.statusCode(), forged + " -> " + r.body());
        }
        HttpResponse<String> again = send("GET", "/api/v1/whoami", null, valid);
        assertEquals(200, again.statusCode());
        assertEquals("test", JSON.readTree(again.body()).get("team").asText(), again.body());
    }

    // ---- team isolation --------------------------------------------------------------------------------------------

    @Test
    @Order(3)
    void aSubmitterCannotMountAnotherTeamsDatasetByNameDigestOrPath() throws Exception {
        String oscar = token("oscar", "other", Roles.SUBMITTER);
        String alphaDigest = datasets(token("a", "test", Roles.ADMIN)).get("alpha").get("digest").asText();
        int jobsBefore = jobs(oscar).size();
        Map<String, String> attempts = new LinkedHashMap<>();
        attempts.put("by name", "alpha");
        attempts.put("by digest", alphaDigest);
        attempts.put("by path", AuthProfile.BASE.resolve("datasets/alpha").toString());
        attempts.put("by relative path", "../alpha");
        attempts.put("by traversal", "beta/../alpha");
        for (Map.Entry<String, String> a : attempts.entrySet()) {
            // A fresh token each time: one token's submissions are rate-limited (3 at once here).
            HttpResponse<String> r = send("POST", "/api/v1/jobs", spec("other", "\"dataset\":\"" + a.getValue()
                    + "\",\"command\":[\"true\"]"), token("oscar", "other", Roles.SUBMITTER));
            assertEquals(422, r.statusCode(), a.getKey() + ": " + r.body());
            assertEquals(PROBLEM, r.headers().firstValue("Content-Type").orElse(""));
            JsonNode violations = JSON.readTree(r.body()).get("violations");
            assertEquals(1, violations.size(), r.body());
            assertEquals("dataset", violations.get(0).get("field").asText(), a.getKey());
            JsonNode refusal = last(audit(), "oscar");
            assertEquals("job.admit", refusal.get("action").asText());
            assertEquals("refused", refusal.get("outcome").asText());
            assertTrue(refusal.get("details").get("violations").toString().contains("dataset"), refusal.toString());
        }
        // By name, another team's dataset reads exactly like one that does not exist.
        assertEquals("no registered dataset 'alpha' of team 'other'", JSON.readTree(send("POST", "/api/v1/jobs",
                spec("other", "\"dataset\":\"alpha\",\"command\":[\"true\"]"), token("oscar", "other",
                        Roles.SUBMITTER)).body())
                .get("violations").get(0).get("reason").asText());
        assertEquals(jobsBefore, jobs(oscar).size(), "no job left behind");
        // Its own dataset is admitted under the same policy: the refusals above are about ownership.
        HttpResponse<String> own = send("POST", "/api/v1/jobs", spec("other", "\"dataset\":\"beta\",\"command\":[\"true\"]"),
                token("oscar", "other", Roles.SUBMITTER));
        assertEquals(201, own.statusCode(), own.body());
    }

    @Test
    @Order(4)
    void aSubmitterSubmitsOnlyForItsOwnTeam() throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/jobs", spec("test", "\"command\":[\"true\"]"),
                token("oscar", "other", Roles.SUBMITTER));
        assertEquals(422, r.statusCode(), r.body());
        assertEquals("team", JSON.readTree(r.body()).get("violations").get(0).get("field").asText());
    }

    @Test
    @Order(5)
    void anotherTeamCannotReadLogsOrArtifactsEvenWithTheJobId() throws Exception {
        for (String role : List.of(Roles.SUBMITTER, Roles.DEPLOYER)) {
            String other = token("o", "other", role);
            for (String part : List.of("/logs", "/artifacts", "/provenance", "")) {
                HttpResponse<String> r = send("GET", "/api/v1/jobs/" + jobId + part, null, other);
                assertTrue(r.statusCode() == 404 || r.statusCode() == 403, role + part + ": " + r.statusCode());
                assertFalse(r.body().contains("rows"), "no log line of team test");
            }
        }
        // The owning team does read them: the log line and the model.
        String alice = token("alice", "test", Roles.SUBMITTER);
        assertTrue(send("GET", "/api/v1/jobs/" + jobId + "/logs", null, alice).body().contains("rows 2"));
        assertEquals(200, send("GET", "/api/v1/jobs/" + jobId + "/artifacts", null, alice).statusCode());
        // Reviewers read every team's job metadata, never its log or artifacts.
        String rita = token("rita", "other", Roles.REVIEWER);
        assertEquals(200, send("GET", "/api/v1/jobs/" + jobId, null, rita).statusCode());
        assertEquals(403, send("GET", "/api/v1/jobs/" + jobId + "/logs", null, rita).statusCode());
        assertEquals(403, send("GET", "/api/v1/jobs/" + jobId + "/artifacts", null, rita).statusCode());
    }

    @Test
    @Order(6)
    void listsShowOnlyTheCallersTeam() throws Exception {
        assertTrue(jobs(token("o", "other", Roles.SUBMITTER)).stream().noneMatch(j -> j.get("id").asText().equals(jobId)));
        assertTrue(jobs(token("t", "test", Roles.SUBMITTER)).stream().anyMatch(j -> j.get("id").asText().equals(jobId)));
        assertTrue(jobs(token("r", "other", Roles.REVIEWER)).stream().anyMatch(j -> j.get("id").asText().equals(jobId)));
        assertEquals(Set.of("beta"), datasets(token("o", "other", Roles.SUBMITTER)).keySet());
        assertEquals(Set.of("alpha"), datasets(token("t", "test", Roles.SUBMITTER)).keySet());
        assertEquals(Set.of("alpha", "beta"), datasets(token("a", "other", Roles.ADMIN)).keySet());
        assertEquals("other", datasets(token("a", "other", Roles.ADMIN)).get("beta").get("team").asText());
        // A dataset keeps its team: registering it again for another team is a conflict, audited.
        HttpResponse<String> r = send("POST", "/api/v1/datasets", "{\"name\":\"alpha\",\"team\":\"other\"}",
                token("a", "other", Roles.ADMIN));
        assertEquals(409, r.statusCode(), r.body());
    }

    // ---- rate limits, HTTPS, OpenAPI, CLI ----------------------------------------------------------------------------

    @Test
    @Order(7)
    void submissionsAndLogRequestsAreRateLimitedPerToken() throws Exception {
        String first = token("busy", "test", Roles.SUBMITTER);
        for (int i = 0; i < AuthProfile.LIMIT_BURST; i++) {
            assertEquals(422, send("POST", "/api/v1/jobs", "{}", first).statusCode(), "within the burst");
        }
        HttpResponse<String> limited = send("POST", "/api/v1/jobs", "{}", first);
        assertEquals(429, limited.statusCode(), limited.body());
        assertEquals(PROBLEM, limited.headers().firstValue("Content-Type").orElse(""));
        assertEquals("urn:cloister:problem:rate-limited", JSON.readTree(limited.body()).get("type").asText());
        long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
        // 2 a minute: the next one comes within 30 s.
        assertTrue(retryAfter >= 1 && retryAfter <= 30, "Retry-After " + retryAfter);
        JsonNode refusal = last(audit(), "busy");
        assertEquals(429, refusal.get("details").get("status").asInt());
        // Another token of the same team has its own allowance.
        assertEquals(422, send("POST", "/api/v1/jobs", "{}", token("calm", "test", Roles.SUBMITTER)).statusCode());

        for (int i = 0; i < AuthProfile.LIMIT_BURST; i++) {
            assertEquals(200, send("GET", "/api/v1/jobs/" + jobId + "/logs", null, first).statusCode());
        }
        HttpResponse<String> logs = send("GET", "/api/v1/jobs/" + jobId + "/logs", null, first);
        assertEquals(429, logs.statusCode());
        assertTrue(logs.headers().firstValue("Retry-After").isPresent());
    }

    @Test
    @Order(8)
    void httpsServesTheApiWithTheConfiguredCertificate() throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(AuthProfile.CERT)) {
            trust.setCertificateEntry("cloister", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, tmf.getTrustManagers(), null);
        HttpClient https = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
        URI whoami = URI.create("https://localhost:" + httpsRoot.getPort() + "/api/v1/whoami");
        assertEquals("https", httpsRoot.getProtocol());
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(whoami).header("Authorization", "Bearer "
                + token("tina", "test", Roles.DEPLOYER)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("tina", JSON.readTree(r.body()).get("subject").asText());
        assertEquals(401, https.send(HttpRequest.newBuilder(whoami).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode());
        // A client that does not trust the certificate does not get through.
        assertThrowsIo(() -> HTTP.send(HttpRequest.newBuilder(whoami).build(), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    @Order(9)
    void onlyHealthIsOpen() throws Exception {
        assertEquals(200, send("GET", "/q/health/ready", null, null).statusCode());
        assertEquals(401, send("GET", "/q/openapi", null, null).statusCode());
        assertEquals(200, send("GET", "/q/openapi", null, token("r", "test", Roles.REVIEWER)).statusCode());
    }

    @Test
    @Order(10)
    void theCliIssuesATokenAndLogsInWithAPrivateConfigFile(@TempDir Path home) throws Exception {
        Path keyFile = AuthProfile.BASE.resolve("state/auth/issuer-key.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
        Run issued = cli("token", "issue", "--team", "test", "--role", "submitter,deployer", "--ttl", "1h",
                "--subject", "carol", "--issuer-key", keyFile.toString());
        assertEquals(0, issued.exit());
        String token = issued.out().strip();
        assertEquals(3, token.split("\\.").length);
        Path tokenFile = home.resolve("token");
        Files.writeString(tokenFile, token);
        Path config = home.resolve("cfg/config.json");
        String previous = System.setProperty("cloister.config", config.toString());
        try {
            Run login = cli("login", "--server", "http://127.0.0.1:" + RestAssured.port, "--token-file",
                    tokenFile.toString());
            assertEquals(0, login.exit(), login.out());
            assertTrue(login.out().contains("as carol (team test, roles deployer,submitter"), login.out());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(config)));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(config.getParent())));
            // The saved login is what the other commands use.
            Run datasets = cli("dataset", "list");
            assertEquals(0, datasets.exit());
            assertTrue(datasets.out().contains("alpha") && !datasets.out().contains("beta"), datasets.out());
            // A config file others can read is refused, not used.
            Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
            assertEquals(1, cli("dataset", "list").exit());
        } finally {
            if (previous == null) {
                System.clearProperty("cloister.config");
            } else {
                System.setProperty("cloister.config", previous);
            }
        }
        assertEquals(2, cli("token", "issue", "--team", "test", "--role", "submitter", "--ttl", "31d",
                "--issuer-key", keyFile.toString()).exit(), "longer than 30 days");
        assertEquals(2, cli("token", "issue", "--team", "test", "--role", "root", "--issuer-key",
                keyFile.toString()).exit(), "unknown role");
    }

    // ---- secrets ---------------------------------------------------------------------------------------------------

    @Test
    @Order(100)
    void noKeyMaterialInAnyResponseOrLogLine() throws Exception {
        TestTokens tokens = tokens();
        byte[] pkcs8 = tokens.privateKeyEncoding();
        List<String> secrets = new ArrayList<>(HostKeyMaterial.secrets(AuthProfile.BASE.resolve("state")));
        Files.readString(AuthProfile.BASE.resolve("state/auth/issuer-key.pem")).lines()
                .filter(l -> !l.startsWith("-----")).forEach(secrets::add);
        java.security.interfaces.ECPrivateKey ec = (java.security.interfaces.ECPrivateKey) java.security.KeyFactory
                .getInstance("EC").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8));
        byte[] d = new byte[32];
        byte[] s = ec.getS().toByteArray();
        System.arraycopy(s, Math.max(0, s.length - 32), d, Math.max(0, 32 - s.length), Math.min(32, s.length));
        secrets.add(HexFormat.of().formatHex(d));
        secrets.add(Base64.getEncoder().encodeToString(d));
        secrets.add(Base64.getUrlEncoder().withoutPadding().encodeToString(d));
        assertTrue(secrets.size() > 10, "secrets to look for: " + secrets.size());

        Path log = Path.of("target/quarkus.log");
        String logText = Files.readString(log);
        assertTrue(logText.contains("token issuer key " + tokens.keyId()), "the log is this service's: " + log);
        String audit = String.join("\n", StoredAudit.lines());
        String responses = RESPONSES.toString();
        assertTrue(responses.length() > 10_000, "responses scanned: " + responses.length());
        for (String secret : secrets) {
            assertFalse(logText.contains(secret), "key material in " + log);
            assertFalse(audit.contains(secret), "key material in the audit log");
            assertFalse(responses.contains(secret), "key material in a response");
        }
        // Nor the tokens themselves: a token in a log line is a credential in a log line.
        assertTrue(ISSUED.size() > 20);
        for (String token : ISSUED) {
            String signature = token.substring(token.lastIndexOf('.') + 1);
            assertFalse(logText.contains(signature), "a token in " + log);
            assertFalse(audit.contains(signature), "a token in the audit log");
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private record Run(int exit, String out) {
    }

    private static Run cli(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            return new Run(Cloister.run(args), out.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(original);
        }
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertThrowsIo(Call call) {
        try {
            call.run();
            fail("expected the TLS handshake to fail");
        } catch (java.io.IOException expected) {
            assertNotNull(expected.getMessage());
        } catch (Exception e) {
            fail(e);
        }
    }

    private static TestTokens tokens() {
        return TestTokens.of(AuthProfile.BASE.resolve("state/auth"));
    }

    private static String token(String subject, String team, String... roles) {
        String token = tokens().issue(subject, team, List.of(roles), Duration.ofHours(1));
        ISSUED.add(token);
        return token;
    }

    private static String spec(String team, String rest) {
        return "{\"name\":\"auth\",\"team\":\"" + team + "\",\"image\":\"" + image + "\"," + rest + "}";
    }

    static HttpResponse<String> send(String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + RestAssured.port + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        // Tars are read as ISO-8859-1 so that every byte is scanned.
        String text = new String(r.body(), path.endsWith("/artifacts") ? StandardCharsets.ISO_8859_1
                : StandardCharsets.UTF_8);
        synchronized (RESPONSES) {
            RESPONSES.append(text).append('\n');
        }
        return new StringResponse(r, text);
    }

    private static List<JsonNode> jobs(String token) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(send("GET", "/api/v1/jobs", null, token).body()).forEach(out::add);
        return out;
    }

    private static Map<String, JsonNode> datasets(String token) throws Exception {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        JSON.readTree(send("GET", "/api/v1/datasets", null, token).body()).forEach(d -> out.put(d.get("name").asText(), d));
        return out;
    }

    private static List<JsonNode> audit() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : StoredAudit.lines()) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private static JsonNode last(List<JsonNode> entries, String actor) {
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).get("actor").asText().equals(actor)) {
                return entries.get(i);
            }
        }
        throw new AssertionError("no audit entry by " + actor);
    }

    private static long refusals(Set<Integer> statuses) throws Exception {
        return audit().stream().filter(e -> e.get("action").asText().equals("request.refused"))
                .filter(e -> statuses.contains(e.get("details").path("status").asInt())).count();
    }

    private static long hiddenJobRefusals() throws Exception {
        return audit().stream().filter(e -> e.get("action").asText().equals("request.refused"))
                .filter(e -> e.get("details").path("status").asInt() == 404)
                .filter(e -> e.get("details").path("reason").asText().contains("of another team")).count();
    }

    /** A response whose body was read once as text. */
    private record StringResponse(HttpResponse<byte[]> raw, String text) implements HttpResponse<String> {
        public int statusCode() { return raw.statusCode(); }
        public HttpRequest request() { return raw.request(); }
        public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
        public java.net.http.HttpHeaders headers() { return raw.headers(); }
        public String body() { return text; }
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return raw.sslSession(); }
        public URI uri() { return raw.uri(); }
        public HttpClient.Version version() { return raw.version(); }
    }
}
