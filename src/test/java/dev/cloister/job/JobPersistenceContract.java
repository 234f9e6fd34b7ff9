package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.digest.Digest;
import dev.cloister.policy.Admission;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.audit.AuditLog;
import dev.cloister.audit.AuditQuery;
import dev.cloister.audit.AuditReport;
import dev.cloister.audit.AuditStore;
import dev.cloister.audit.AuditVerifier;
import dev.cloister.audit.DatabaseAuditStore;
import dev.cloister.dataset.DatabaseDatasetStore;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.dataset.DatasetSignature;
import dev.cloister.keys.HostKeys;
import dev.cloister.keys.KeyInfo;
import dev.cloister.keys.PublicKeyPem;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agroal.api.AgroalDataSource;
import jakarta.inject.Inject;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jobs survive a restart of their store: each test writes through the service's store, then reads everything back
 * with a new store loaded from the database, as a restarted service does. Run against H2 ({@link JobPersistenceH2Test})
 * and PostgreSQL ({@link JobPersistencePostgresTest}).
 */
abstract class JobPersistenceContract {

    private static final String IMAGE = "cloister/example-breast-cancer@sha256:" + "b".repeat(64);
    private static final SecureRandom RANDOM = new SecureRandom();

    @Inject
    JobStore store;
    @Inject
    Policies policies;
    @Inject
    AuditLog audit;
    @Inject
    HostKeys keys;
    @Inject
    AgroalDataSource db;

    @Inject
    DatasetRegistry datasets;

    @Test
    void registeredDatasetsWithTheirSignaturesAreKnownAfterARestart() throws Exception {
        Dataset registered = datasets.register("breast-cancer", "test");
        DatasetRegistry restarted = new DatasetRegistry(Path.of("/var/lib/cloister/datasets"), java.time.Clock.systemUTC(),
                new DatabaseDatasetStore());
        assertEquals(registered, restarted.find("breast-cancer").orElseThrow(), "as a restarted service reads it");

        // A signed registration keeps its verified identity and the whole bundle (admission verifies it again).
        Dataset signed = new Dataset("persist-signed", "test", Path.of("/var/lib/cloister/datasets/persist-signed"),
                Digest.of("data"), 2, 1234, Instant.now().truncatedTo(ChronoUnit.MICROS),
                new DatasetSignature("ci@example.com", "https://accounts.example.com", "MANIFEST.sha256",
                        DatasetSignature.Source.REQUEST, "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}"));
        DatabaseDatasetStore store = new DatabaseDatasetStore();
        try {
            store.save(signed);
            Dataset read = store.loadAll().stream().filter(d -> d.name().equals("persist-signed")).findFirst().orElseThrow();
            assertEquals(signed, read);
            assertEquals(signed.signature().bundleJson(), read.signature().bundleJson());
        } finally {
            try (Connection c = db.getConnection(); Statement st = c.createStatement()) {
                st.executeUpdate("delete from datasets where name = 'persist-signed'");
            }
        }
    }

    @Test
    void theAuditLogLivesInTheDatabaseAndAReopenedLogContinuesWhereItStood(@TempDir Path tmp) throws Exception {
        for (int i = 0; i < 7; i++) {
            audit.record("persistence-test", "job.cancel", "job-" + i, "requested", Map.of("i", i, "why", "ü"));
        }
        audit.checkpoint(); // unless the last entry was just covered by one (the test profile signs every 5)
        List<String> exported = new ArrayList<>();
        audit.export(AuditQuery.ALL, exported::add);

        List<String> rows = new ArrayList<>();
        try (Connection c = db.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select line from audit_entries order by seq")) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        assertEquals(rows, exported, "the table holds each entry's line exactly as exported");
        assertTrue(rows.stream().anyMatch(r -> r.contains("\"subject\":\"job-6\"") && r.contains("ü")), "stored as UTF-8");

        AuditStore.Head head = new DatabaseAuditStore().open();
        assertEquals(exported.get(exported.size() - 1), head.lastLine(), "a restarted service continues the chain here");
        assertEquals(0, head.unsigned(), "and knows that every entry is covered by a checkpoint");

        List<PublicKeyPem> pems = new ArrayList<>();
        for (KeyInfo k : keys.keys()) {
            pems.add(PublicKeyPem.parse(keys.publicKey(k.id()).text()));
        }
        Path export = Files.write(tmp.resolve("audit.jsonl"), exported);
        AuditReport report = new AuditVerifier(pems).verify(export, AuditVerifier.Options.FULL);
        assertEquals(exported.size(), report.entries(), "the export from the database verifies offline");
    }

    @Test
    void aJobWithItsWholeHistoryPlanAndCisResultsIsReadBackEqual() throws Exception {
        Admitted a = admit("{\"name\":\"persist\",\"team\":\"test\",\"image\":\"" + IMAGE + "\","
                + "\"command\":[\"python3\",\"-c\",\"print('ü')\"],\"env\":{\"MODE\":\"fast\"},"
                + "\"hyperparameters\":{\"epochs\":300,\"lr\":0.1,\"name\":\"x\",\"flag\":true},"
                + "\"resources\":{\"memory\":\"1g\",\"cpus\":0.5,\"pids\":64},\"maxRuntime\":\"5m\"}");
        store.add(a.job, a.plan);
        Instant t = Instant.now();
        store.update(a.job.id(), j -> j.moveTo(JobState.RUNNING, t.plusNanos(1_234_567), "container c0ffee started"));
        store.update(a.job.id(), j -> j.withResult(0, t.plusSeconds(1), t.plusSeconds(9), List.of("model.json", "sub/ä.bin"),
                "/var/lib/cloister/artifacts/" + j.id()));
        store.update(a.job.id(), j -> j.moveTo(JobState.SUCCEEDED, t.plusSeconds(10), "exited with code 0"));
        store.update(a.job.id(), j -> j.withSeal(j.artifactDir(), Digest.of("model"), "ab".repeat(32)));
        store.update(a.job.id(), j -> j.moveTo(JobState.SEALED, t.plusSeconds(11), "sealed: 2 file(s)"));
        List<CisResult> cis = List.of(new CisResult("5.4", "capabilities", CisResult.Status.PASS, "CapDrop [ALL]"),
                new CisResult("5.2", "AppArmor", CisResult.Status.CANNOT_PASS_ON_HOST, "no AppArmor in this kernel"));
        store.saveCis(a.job.id(), cis);
        Job written = store.find(a.job.id()).orElseThrow();

        JobStore restarted = JobStore.database();

        Job read = restarted.find(a.job.id()).orElseThrow();
        assertEquals(written, read, "the job as a restarted service reads it");
        assertEquals(List.of(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.SEALED),
                read.history().stream().map(Job.Transition::to).toList(), "every transition, in order");
        assertEquals("container c0ffee started", read.history().get(1).reason());
        assertEquals(t.plusNanos(1_234_567).truncatedTo(ChronoUnit.MICROS), read.history().get(1).at(),
                "times are kept to the microsecond");
        assertEquals(a.job.spec(), read.spec(), "the spec, rebuilt from the submitted document");
        assertEquals(a.plan, restarted.plan(a.job.id()).orElseThrow(), "the plan a restarted service resumes with");
        assertEquals(cis, restarted.cis(a.job.id()).orElseThrow());
        assertTrue(restarted.all().stream().anyMatch(j -> j.id().equals(a.job.id())));
    }

    @Test
    void aRefusedChangeLeavesTheStoredJobAsItWas() throws Exception {
        Admitted a = admit("{\"name\":\"refused\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        store.add(a.job, a.plan);
        store.update(a.job.id(), j -> j.moveTo(JobState.CANCELLED, Instant.now(), "cancelled on request"));
        Job cancelled = store.find(a.job.id()).orElseThrow();

        assertThrows(IllegalStateException.class, () -> store.update(a.job.id(),
                j -> j.moveTo(JobState.RUNNING, Instant.now(), "late start")), "a final state never changes");

        assertEquals(cancelled, store.find(a.job.id()).orElseThrow());
        assertEquals(cancelled, JobStore.database().find(a.job.id()).orElseThrow(), "nothing of the refused change stored");
        // Cancelled before a container existed: no CIS results, which reads as none (the policy report asks).
        assertEquals(java.util.Optional.empty(), store.cis(a.job.id()));
        assertEquals(java.util.Optional.empty(), JobStore.database().cis(a.job.id()));
    }

    @Test
    void anIdIsStoredOnce() throws Exception {
        Admitted a = admit("{\"name\":\"twice\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        store.add(a.job, a.plan);
        assertThrows(IllegalStateException.class, () -> store.add(a.job, a.plan));
        assertEquals(1, JobStore.database().all().stream().filter(j -> j.id().equals(a.job.id())).count());
    }

    @Test
    void aPlanNamesItsSeccompProfileByDigestAndTheProfileIsStoredOnce() throws Exception {
        Admitted a = admit("{\"name\":\"profile-1\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        Admitted b = admit("{\"name\":\"profile-2\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        store.add(a.job, a.plan);
        store.add(b.job, b.plan);
        String digest = a.plan.seccomp().digest().toString();
        try (Connection c = db.getConnection()) {
            for (Admitted x : List.of(a, b)) {
                String stored = planColumn(c, x.job.id());
                assertTrue(stored.contains(a.plan.seccomp().digest().hex()), stored);
                assertFalse(stored.contains("defaultAction"), "no copy of the profile in the plan: " + stored);
            }
            try (PreparedStatement q = c.prepareStatement("select name, json from seccomp_profiles where digest = ?")) {
                q.setString(1, digest);
                try (ResultSet r = q.executeQuery()) {
                    assertTrue(r.next(), "the profile is stored under its digest");
                    assertEquals(a.plan.seccomp().name(), r.getString(1));
                    assertEquals(a.plan.seccomp().json(), r.getString(2), "byte for byte");
                    assertFalse(r.next());
                }
            }
        }
        assertEquals(a.plan, JobStore.database().plan(a.job.id()).orElseThrow(), "read back with the profile's text");
    }

    @Test
    void aPlanStoredWithItsProfileInlineIsStillRead() throws Exception {
        Admitted a = admit("{\"name\":\"inline\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        store.add(a.job, a.plan);
        try (Connection c = db.getConnection()) {
            ObjectNode plan = (ObjectNode) TREES.readTree(planColumn(c, a.job.id()));
            ((ObjectNode) plan.get("seccomp")).put("json", a.plan.seccomp().json()); // as plans were stored before V5
            setPlanColumn(c, a.job.id(), plan.toString());
        }
        assertEquals(a.plan, JobStore.database().plan(a.job.id()).orElseThrow());
    }

    @Test
    void aStoredProfileWhoseTextDoesNotMatchItsDigestIsRefused() throws Exception {
        Admitted a = admit("{\"name\":\"tampered\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}");
        store.add(a.job, a.plan);
        String forged = "sha256:" + Digest.of("forged " + a.job.id()).hex();
        String original;
        try (Connection c = db.getConnection()) {
            original = planColumn(c, a.job.id());
            try (PreparedStatement u = c.prepareStatement("insert into seccomp_profiles (digest, name, json) values (?, ?, ?)")) {
                u.setString(1, forged);
                u.setString(2, "training.json");
                u.setString(3, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
                u.executeUpdate();
            }
            ObjectNode plan = (ObjectNode) TREES.readTree(planColumn(c, a.job.id()));
            ((ObjectNode) plan.get("seccomp")).set("digest", TREES.valueToTree(Digest.parse(forged)));
            setPlanColumn(c, a.job.id(), plan.toString());
        }
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> JobStore.database().plan(a.job.id()));
            assertTrue(e.getMessage().contains(forged), e.getMessage());
        } finally {
            try (Connection c = db.getConnection()) {
                setPlanColumn(c, a.job.id(), original); // a later start in this data dir recovers the job as it was
            }
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper TREES = new com.fasterxml.jackson.databind.ObjectMapper();

    private static String planColumn(Connection c, JobId id) throws Exception {
        try (PreparedStatement q = c.prepareStatement("select plan from jobs where id = ?")) {
            q.setString(1, id.value());
            try (ResultSet r = q.executeQuery()) {
                assertTrue(r.next(), "no row for " + id);
                return r.getString(1);
            }
        }
    }

    private static void setPlanColumn(Connection c, JobId id, String plan) throws Exception {
        try (PreparedStatement u = c.prepareStatement("update jobs set plan = ? where id = ?")) {
            u.setString(1, plan);
            u.setString(2, id.value());
            assertEquals(1, u.executeUpdate());
        }
    }

    private record Admitted(Job job, ContainerPlan plan) {
    }

    private Admitted admit(String json) throws Exception {
        JobSpecReader.Parsed parsed = new JobSpecReader(65536).parse(json.getBytes(StandardCharsets.UTF_8),
                JobSpecReader.Format.JSON);
        assertEquals(List.of(), parsed.violations());
        Policy policy = policies.defaultPolicy();
        JobId id = JobId.random(RANDOM);
        ContainerPlan plan = new Admission(Path.of("target/cloister-test/work").toAbsolutePath())
                .admit(id, parsed.spec(), policy, null);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        Job job = new Job(id, parsed.spec(), policy.name(), policy.digest(), policy.seccomp().digest(),
                policy.runtime().engineName(), plan.image().toString(), plan.image().digest(), "IMAGE_ID", null, null,
                JobState.QUEUED, now, null, null, null, "admitted", List.of(), null, parsed.document().toString(),
                null, null, null, List.of(new Job.Transition(null, JobState.QUEUED, now, "admitted")), null);
        return new Admitted(job, plan);
    }
}
