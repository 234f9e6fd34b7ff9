package dev.cloister.job;

import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.digest.Digest;
import dev.cloister.keys.HostKeys;
import dev.cloister.policy.Admission;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policies;
import dev.cloister.sandbox.ResolvedImage;
import dev.cloister.sandbox.RunListener;
import dev.cloister.sandbox.RunOutcome;
import dev.cloister.sandbox.RunResult;
import dev.cloister.sandbox.SandboxRuntime;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ModelSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job service's state machine, with the sandbox faked at its boundary (the engine is covered elsewhere). */
class JobServiceTest {

    private static final String IMAGE = "cloister/trainer-base@sha256:" + "a".repeat(64);

    @TempDir
    Path tmp;
    private HostKeys keys;
    private JobService service;
    private final FakeRuntime runtime = new FakeRuntime();

    /** Runs "containers" by calling a script that writes the artifact directory. */
    static final class FakeRuntime implements SandboxRuntime {
        volatile BiConsumer<ContainerPlan, Path> body = (plan, dir) -> { };
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger maxRunning = new AtomicInteger();

        @Override
        public ResolvedImage resolve(ImageRef image) {
            return new ResolvedImage(image, image.digest(), ResolvedImage.PinKind.IMAGE_ID);
        }

        @Override
        public RunResult run(ContainerPlan plan, Path artifactDir, RunListener listener) {
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                listener.started("c0ffee", Instant.now());
                body.accept(plan, artifactDir);
                return new RunResult(RunOutcome.EXITED, 0, Instant.now(), Instant.now(), null, List.of(), List.of());
            } finally {
                running.decrementAndGet();
            }
        }

        @Override
        public void cancel(String jobId) {
        }

        // Nothing outlives a fake run: recovery against the real engine is covered by RecoveryIT.
        @Override
        public List<dev.cloister.sandbox.LeftContainer> containers(String key, String value) {
            return List.of();
        }

        @Override
        public RunResult settle(ContainerPlan plan, String containerId, Path artifactDir) {
            throw new IllegalStateException("the fake runtime leaves no containers to settle");
        }

        @Override
        public void detach() {
        }

        @Override
        public RunResult resume(ContainerPlan plan, String containerId, Path artifactDir) {
            throw new IllegalStateException("the fake runtime leaves no containers to resume");
        }

        @Override
        public void release(Path workDir) {
        }

        @Override
        public void reclaim(ContainerPlan plan) {
        }

        @Override
        public void remove(String containerId) {
        }
    }

    /** Publishes nowhere: the registry path is covered by the image and API integration tests. */
    static final class FakePublisher implements ModelPublisher {
        volatile boolean fail;

        @Override
        public Packaged packageModel(SealedModel model) throws PublishException {
            if (fail) {
                throw new PublishException("registry refused the push", null);
            }
            return new Packaged("127.0.0.1:5000/test/" + model.name() + ":" + model.origin().id() + "@" + Digest.of("x"),
                    Digest.of("x"), null);
        }

        @Override
        public Published sign(Packaged packaged) {
            return new Published("sha256-x.sig", "sha256-x.att", "k");
        }
    }

    private final FakePublisher publisher = new FakePublisher();

    @BeforeEach
    void start() throws Exception {
        keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray());
        Policies policies = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted");
        service = new JobService(policies, new DatasetRegistry(tmp.resolve("datasets"), Clock.systemUTC()),
                new Admission(tmp.resolve("work")), runtime, new JobSealer(keys::signer, 2), sealCheck(keys), publisher,
                new JobSpecReader(65536), new AuditLog(tmp.resolve("audit.jsonl"), Clock.systemUTC()), JobStore.inMemory(),
                new JobService.Settings(tmp.resolve("artifacts"), 2, "urn:test"), Clock.systemUTC());
    }

    /** The verifier the service uses: the seal on disk must verify with the key that signed it. */
    static SealCheck sealCheck(HostKeys keys) {
        return (dir, keyId) -> {
            try {
                String pem = keys.publicKey(dev.cloister.keys.KeyId.parse(keyId)).text();
                new dev.cloister.verify.SealVerifier(new dev.cloister.verify.ModelVerifier()).verify(dir, pem,
                        java.util.Optional.of(dir.resolve(JobSealer.PROVENANCE_FILE)),
                        dev.cloister.verify.ReleaseClaims.NONE, List.of());
            } catch (dev.cloister.keys.KeyException e) {
                throw new dev.cloister.verify.VerificationException("unknown key " + keyId);
            }
        };
    }

    @AfterEach
    void stop() {
        service.close();
        keys.close();
    }

    private Job submit() throws Exception {
        String spec = "{\"name\":\"t\",\"team\":\"test\",\"image\":\"" + IMAGE + "\",\"command\":[\"true\"]}";
        return service.submit(spec.getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.JSON, "test", "test");
    }

    private Job awaitFinal(JobId id) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            Job j = service.find(id).orElseThrow();
            if (j.state().isFinal()) {
                return j;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("job did not end");
    }

    @Test
    void successIsSealedPackagedAndPublished() throws Exception {
        runtime.body = (plan, dir) -> write(dir, "w.json", "[1]");
        Job job = awaitFinal(submit().id());
        assertEquals(JobState.PUBLISHED, job.state(), job.reason());
        assertTrue(Files.exists(Path.of(job.artifactDir()).resolve(ModelSigner.SIGNATURE_FILE)));
        assertEquals(keys.activeKeyId().hex(), job.keyId());
        assertEquals(List.of(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.SEALED,
                JobState.PACKAGED, JobState.PUBLISHED), job.history().stream().map(Job.Transition::to).toList());
        assertTrue(job.servingImage().startsWith("127.0.0.1:5000/test/t:" + job.id()));
    }

    @Test
    void publishingFailureEndsFailedAndKeepsTheSeal() throws Exception {
        runtime.body = (plan, dir) -> write(dir, "w.json", "[1]");
        publisher.fail = true;
        Job job = awaitFinal(submit().id());
        assertEquals(JobState.FAILED, job.state());
        assertTrue(job.reason().contains("registry refused the push"), job.reason());
        assertTrue(Files.exists(Path.of(job.artifactDir()).resolve(ModelSigner.SIGNATURE_FILE)), "the seal stays");
    }

    @Test
    void aRotatedKeySignsFromThenOnAndOldSealsStillVerify() throws Exception {
        runtime.body = (plan, dir) -> write(dir, "w.json", "[1]");
        Job before = awaitFinal(submit().id());
        var oldKey = keys.activeKeyId();
        keys.rotate();
        Job after = awaitFinal(submit().id());
        assertEquals(oldKey.hex(), before.keyId());
        assertEquals(keys.activeKeyId().hex(), after.keyId());
        assertFalse(oldKey.equals(keys.activeKeyId()));
        var verifier = new dev.cloister.verify.ModelVerifier();
        String oldPem = keys.publicKey(oldKey).text();
        String newPem = keys.publicKey(keys.activeKeyId()).text();
        verifier.verify(Path.of(before.artifactDir()), oldPem, dev.cloister.seal.JobSealer.PROVENANCE_FILE);
        verifier.verify(Path.of(after.artifactDir()), newPem, dev.cloister.seal.JobSealer.PROVENANCE_FILE);
        org.junit.jupiter.api.Assertions.assertThrows(dev.cloister.verify.VerificationException.class,
                () -> verifier.verify(Path.of(before.artifactDir()), newPem, dev.cloister.seal.JobSealer.PROVENANCE_FILE));
        assertEquals(2, keys.keys().size(), "the retired key stays listed");
    }

    @Test
    void sealingFailureEndsFailedWithNoSignature() throws Exception {
        runtime.body = (plan, dir) -> {
            write(dir, "w.json", "[1]");
            try {
                Files.createSymbolicLink(dir.resolve("escape"), Path.of("/etc/shadow"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        Job job = awaitFinal(submit().id());
        assertEquals(JobState.FAILED, job.state());
        assertTrue(job.reason().startsWith("sealing failed:"), job.reason());
        assertTrue(job.reason().contains("symbolic link"), job.reason());
        assertFalse(Files.exists(Path.of(job.artifactDir()).resolve(ModelSigner.SIGNATURE_FILE)));
        assertEquals(List.of(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED),
                job.history().stream().map(Job.Transition::to).toList());
    }

    @Test
    void queueRunsAtMostTheConfiguredNumberAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        runtime.body = (plan, dir) -> {
            await(release);
            write(dir, "w.json", "[1]");
        };
        List<Job> jobs = List.of(submit(), submit(), submit(), submit());
        Thread.sleep(300);
        assertEquals(2, runtime.running.get(), "two run, two wait");
        assertEquals(2, jobs.stream().filter(j -> service.find(j.id()).orElseThrow().state() == JobState.QUEUED).count());
        release.countDown();
        for (Job j : jobs) {
            assertEquals(JobState.PUBLISHED, awaitFinal(j.id()).state());
        }
        assertEquals(2, runtime.maxRunning.get());
    }

    @Test
    void queuedJobCanBeCancelledBeforeItRuns() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        runtime.body = (plan, dir) -> await(release);
        submit();
        submit();
        Job third = submit();
        service.cancel(third.id(), "test");
        release.countDown();
        Job cancelled = awaitFinal(third.id());
        assertEquals(JobState.CANCELLED, cancelled.state());
        assertTrue(cancelled.history().stream().noneMatch(t -> t.to() == JobState.RUNNING), "it never ran");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void write(Path dir, String name, String content) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name), content);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
