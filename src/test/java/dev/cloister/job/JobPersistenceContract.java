package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.digest.Digest;
import dev.cloister.policy.Admission;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
                null, null, null, List.of(new Job.Transition(null, JobState.QUEUED, now, "admitted")));
        return new Admitted(job, plan);
    }
}
