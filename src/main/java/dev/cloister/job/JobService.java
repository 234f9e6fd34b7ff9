package dev.cloister.job;

import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.policy.Admission;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;
import dev.cloister.cis.CisResult;
import dev.cloister.sandbox.ResolvedImage;
import dev.cloister.sandbox.RunListener;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ProvenanceFacts;
import dev.cloister.seal.SealException;
import dev.cloister.sandbox.RunResult;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.sandbox.SandboxRuntime;
import dev.cloister.sandbox.LeftContainer;
import dev.cloister.verify.VerificationException;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Submits, admits, queues, runs and cancels jobs; the one place that moves a job between states. */
public final class JobService implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(JobService.class);

    /**
     * What the service needs from its host, fixed at start-up.
     *
     * @param imageProvenances finds the signed provenance of a training image Cloister built, for the job's own
     */
    public record Settings(Path artifactRoot, int concurrency, String builderId, ImageProvenances imageProvenances) {

        public Settings(Path artifactRoot, int concurrency, String builderId) {
            this(artifactRoot, concurrency, builderId, ImageProvenances.NONE);
        }
    }

    private final Policies policies;
    private final DatasetRegistry datasets;
    private final Admission admission;
    private final SandboxRuntime runtime;
    private final JobSealer sealer;
    private final SealCheck sealCheck;
    private final ModelPublisher publisher;
    private final JobSpecReader reader;
    private final AuditLog audit;
    private final Settings settings;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final JobStore store;
    private final Set<JobId> cancelRequested = ConcurrentHashMap.newKeySet();
    private final ExecutorService workers;
    private volatile boolean accepting = true;
    private volatile boolean detached;
    private volatile ReproductionListener reproductions = (rerun, sealedDir) -> { };

    public JobService(Policies policies, DatasetRegistry datasets, Admission admission, SandboxRuntime runtime,
                      JobSealer sealer, SealCheck sealCheck, ModelPublisher publisher, JobSpecReader reader,
                      AuditLog audit, JobStore store, Settings settings, Clock clock) {
        this.sealer = sealer;
        this.sealCheck = sealCheck;
        this.store = store;
        this.publisher = publisher;
        this.policies = policies;
        this.datasets = datasets;
        this.admission = admission;
        this.runtime = runtime;
        this.reader = reader;
        this.audit = audit;
        this.settings = settings;
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(settings.concurrency(), r -> {
            Thread t = new Thread(r, "cloister-job-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Parses, admits and queues a job for {@code team}, the submitter's own team: a spec for another team is refused,
     * and the job may mount only a dataset that team owns (another team's dataset is reported exactly like an unknown
     * one). Throws {@link MalformedSpecException} for unreadable bodies and {@link AdmissionException} with every
     * violation for refused specs; both are audited.
     */
    public Job submit(byte[] body, JobSpecReader.Format format, String actor, String team)
            throws MalformedSpecException, AdmissionException, SandboxException {
        return submit(body, format, actor, team, null);
    }

    /**
     * Submits the spec of a sealed job again, as a re-run of it (a reproduction): the same path as any job, marked
     * with the original's id. The caller has checked that the inputs the original recorded are still what they were.
     */
    public Job resubmit(byte[] specJson, JobId original, String actor)
            throws MalformedSpecException, AdmissionException, SandboxException {
        // The re-run belongs to the original's team, under the same checks as any of that team's jobs.
        String team = store.find(original).map(j -> j.spec().team()).orElseThrow(() ->
                new IllegalStateException("no job " + original));
        return submit(specJson, JobSpecReader.Format.JSON, actor, team, original);
    }

    /** Who hears when a reproduction re-run ends; set once at start-up. */
    public void onReproductionEnded(ReproductionListener listener) {
        this.reproductions = listener;
    }

    private Job submit(byte[] body, JobSpecReader.Format format, String actor, String team, JobId reproductionOf)
            throws MalformedSpecException, AdmissionException, SandboxException {
        if (!accepting) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the service is shutting down and admits no jobs");
        }
        JobSpecReader.Parsed parsed;
        try {
            parsed = reader.parse(body, format);
        } catch (MalformedSpecException e) {
            audit.record(actor, "job.submit", "-", "refused", Map.of("reason", e.auditReason()));
            throw e;
        }
        JobSpec spec = parsed.spec();
        List<Violation> violations = new ArrayList<>(parsed.violations());
        if (spec.team() != null && !spec.team().equals(team)) {
            violations.add(new Violation("team", "jobs are submitted for the submitter's own team ('" + team
                    + "'), not '" + spec.team() + "'"));
        }

        Policy policy = null;
        String policyName = spec.policy() == null ? policies.defaultPolicy().name() : spec.policy();
        Optional<Policy> found = policies.find(policyName);
        if (found.isEmpty()) {
            violations.add(new Violation("policy", "unknown policy '" + policyName + "' (known: "
                    + policies.all().stream().map(Policy::name).toList() + ")"));
        } else {
            policy = found.get();
        }
        Dataset dataset = null;
        if (spec.dataset() != null) {
            dataset = datasets.find(spec.dataset(), team).orElse(null);
            if (dataset == null) {
                violations.add(new Violation("dataset", "no registered dataset '" + spec.dataset() + "' of team '"
                        + team + "'"));
            }
        }
        JobId id = JobId.random(random);
        ContainerPlan plan = null;
        if (policy != null && spec.command().size() > 0) {
            try {
                plan = admission.admit(id, spec, policy, dataset);
            } catch (AdmissionException e) {
                violations.addAll(e.violations());
            }
        }
        ResolvedImage image = null;
        if (violations.isEmpty()) {
            image = runtime.admitImage(plan.image(), violations);
        }
        if (!violations.isEmpty()) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("name", String.valueOf(spec.name()));
            details.put("team", String.valueOf(spec.team()));
            details.put("policy", policyName);
            details.put("violations", violations.stream().map(Violation::toString).toList());
            audit.record(actor, "job.admit", "-", "refused", details);
            throw new AdmissionException(violations);
        }

        Job job = new Job(id, spec, policy.name(), policy.digest(), policy.seccomp().digest(),
                policy.runtime().engineName(), plan.image().toString(), image.imageId(), image.pinnedBy().name(),
                dataset == null ? null : dataset.name(), dataset == null ? null : dataset.digest(),
                JobState.QUEUED, clock.instant(), null, null, null, "admitted under policy '" + policy.name() + "'",
                List.of(), null, parsed.document().toString(), null, null, null,
                List.of(new Job.Transition(null, JobState.QUEUED, clock.instant(), reproductionOf == null ? "admitted"
                        : "admitted as a re-run of " + reproductionOf)), reproductionOf);
        store.add(job, plan);
        Map<String, Object> admitted = new LinkedHashMap<>(Map.of(
                "name", spec.name(), "team", spec.team(), "policy", policy.name(),
                "policyDigest", policy.digest().toString(), "image", plan.image().toString()));
        if (reproductionOf != null) {
            admitted.put("reproductionOf", reproductionOf.value());
        }
        audit.record(actor, "job.admit", id.value(), "admitted", admitted);
        workers.submit(() -> execute(id));
        return job;
    }

    private void execute(JobId id) {
        // Not accepting: shutting down; a queued job stays QUEUED in the store and runs after the next start.
        if (!accepting || cancelRequested.contains(id)
                || store.find(id).map(j -> j.state() != JobState.QUEUED).orElse(true)) {
            return;
        }
        ContainerPlan plan = store.plan(id).orElseThrow();
        Path artifactDir = settings.artifactRoot().resolve(id.value());
        RunListener listener = new RunListener() {
            @Override
            public void configured(String containerId, List<CisResult> cis) {
                store.saveCis(id, cis);
                Map<String, Long> counts = new java.util.TreeMap<>();
                cis.forEach(r -> counts.merge(r.status().name(), 1L, Long::sum));
                audit.record("cloister", "job.cis", id.value(), counts.containsKey("FAIL") ? "findings" : "ok",
                        Map.of("counts", counts));
            }

            @Override
            public void started(String containerId, java.time.Instant at) {
                transition(id, JobState.RUNNING, "container " + shortId(containerId) + " started");
                if (cancelRequested.contains(id)) {
                    runtime.cancel(id.value());
                }
            }
        };
        follow(id, plan, artifactDir, () -> runtime.run(plan, artifactDir, listener),
                SandboxException::getMessage, "internal error while running the job");
    }

    /** A step that follows a job's container to its end: a run, or a run taken over after a restart. */
    @FunctionalInterface
    private interface RunStep {
        RunResult follow() throws SandboxException;
    }

    /** What a failed step does before the job is FAILED, and the reason it is FAILED with. */
    @FunctionalInterface
    private interface StepFailure {
        String reason(SandboxException e);
    }

    // Runs the step and finishes the job; a run the shutdown let go of stays RUNNING for the next start to follow.
    private void follow(JobId id, ContainerPlan plan, Path artifactDir, RunStep step, StepFailure failure,
                        String internalError) {
        RunResult result;
        try {
            result = step.follow();
        } catch (SandboxException e) {
            if (e.kind() == SandboxException.Kind.DETACHED) {
                LOG.infof("job %s left running at shutdown: %s", id, e.getMessage());
                return;
            }
            LOG.warnf("job %s failed in the sandbox: %s", id, e.getMessage());
            transition(id, JobState.FAILED, failure.reason(e));
            return;
        } catch (RuntimeException e) {
            LOG.errorf(e, "job %s failed unexpectedly", id);
            transition(id, JobState.FAILED, internalError);
            return;
        }
        finish(id, plan, artifactDir, result);
    }

    // Records how the container ended; a success goes on to sealing and publishing.
    private void finish(JobId id, ContainerPlan plan, Path artifactDir, RunResult result) {
        List<String> outputs = result.outputs().stream().map(RunResult.OutputFile::path).toList();
        store.update(id, j -> j.withResult(result.exitCode(), result.startedAt(), result.finishedAt(), outputs,
                java.nio.file.Files.isDirectory(artifactDir) ? artifactDir.toString() : null));
        JobState end;
        String why;
        switch (result.outcome()) {
            case OOM_KILLED -> {
                end = JobState.OOM_KILLED;
                why = "killed by the kernel: out of memory (limit " + plan.limits().memory() + ")";
            }
            case TIMED_OUT -> {
                end = JobState.TIMED_OUT;
                why = "exceeded its max runtime of " + DurationText.format(plan.limits().maxRuntime());
            }
            case CANCELLED -> {
                end = JobState.CANCELLED;
                why = accepting ? "cancelled on request" : "cancelled: the service shut down while it ran";
            }
            default -> {
                if (result.exitCode() != null && result.exitCode() == 0 && result.outputProblems().isEmpty()) {
                    end = JobState.SUCCEEDED;
                    why = "exited with code 0";
                } else {
                    end = JobState.FAILED;
                    why = failureReason(result);
                }
            }
        }
        transition(id, end, why);
        if (end == JobState.SUCCEEDED) {
            seal(id, plan, artifactDir);
        } else {
            rerunEnded(id, null);
        }
    }

    // SUCCEEDED -> SEALED once model.sig and the provenance are both on disk; a failure leaves no signature.
    private void seal(JobId id, ContainerPlan plan, Path artifactDir) {
        Job job = store.find(id).orElseThrow();
        try {
            java.nio.file.Files.createDirectories(artifactDir);
            JobSealer.Seal seal = sealer.seal(artifactDir, provenanceFacts(job, plan));
            // Never SEALED on the sealer's word alone: what is on disk must verify with the key that signed it.
            sealCheck.verify(artifactDir, seal.keyId().hex());
            store.update(id, j -> j.withSeal(artifactDir.toString(), seal.manifest().rootDigest(), seal.keyId().hex()));
            audit.record("cloister", "job.seal", id.value(), "sealed", Map.of(
                    "modelDigest", seal.manifest().rootDigest().toString(), "keyId", seal.keyId().hex(),
                    "files", seal.manifest().resources().size()));
            transition(id, JobState.SEALED, "sealed: " + seal.manifest().resources().size()
                    + " file(s), model " + seal.manifest().rootDigest() + ", key " + seal.keyId().hex().substring(0, 12));
            rerunEnded(id, artifactDir);
            publish(id, artifactDir);
        } catch (SealException | VerificationException | java.io.IOException | RuntimeException e) {
            LOG.warnf("sealing job %s failed: %s", id, e.getMessage());
            audit.record("cloister", "job.seal", id.value(), "failed", Map.of("reason", String.valueOf(e.getMessage())));
            transition(id, JobState.FAILED, "sealing failed: " + e.getMessage());
            rerunEnded(id, null);
        }
    }

    // A reproduction re-run has sealed (sealedDir) or ended without a seal (null): its verdict is written now.
    private void rerunEnded(JobId id, Path sealedDir) {
        Job job = store.find(id).orElse(null);
        if (job == null || job.reproductionOf() == null) {
            return;
        }
        try {
            reproductions.rerunEnded(job, sealedDir);
        } catch (RuntimeException e) {
            LOG.errorf(e, "reproduction verdict for re-run %s failed", id);
            audit.record("cloister", "job.reproduce", job.reproductionOf().value(), "failed",
                    Map.of("rerun", id.value(), "reason", String.valueOf(e.getMessage())));
        }
    }

    // SEALED -> PACKAGED (image pushed by digest) -> PUBLISHED (signature and attestation pushed).
    private void publish(JobId id, Path sealedDir) {
        ModelPublisher.Packaged packaged;
        try {
            Job job = store.find(id).orElseThrow();
            // The job's finish time is the image's creation time: fixed per job, so rebuilding gives the same digest.
            packaged = publisher.packageModel(new ModelPublisher.SealedModel(ModelOrigin.of(job.id()),
                    job.spec().name(), job.modelDigest(), job.policy(), job.finishedAt(), sealedDir));
            store.update(id, j -> j.withServingImage(packaged.reference()));
            audit.record("cloister", "image.push", id.value(), "pushed", Map.of("image", packaged.reference()));
            transition(id, JobState.PACKAGED, "serving image pushed: " + packaged.reference());
            ModelPublisher.Published published = publisher.sign(packaged);
            audit.record("cloister", "image.sign", id.value(), "signed", Map.of("image", packaged.reference(),
                    "keyId", published.keyId()));
            transition(id, JobState.PUBLISHED, "signed: " + published.signatureTag() + ", " + published.attestationTag());
        } catch (ModelPublisher.PublishException | RuntimeException e) {
            LOG.warnf("publishing job %s failed: %s", id, e.getMessage());
            audit.record("cloister", "image.publish", id.value(), "failed", Map.of("reason", String.valueOf(e.getMessage())));
            transition(id, JobState.FAILED, "publishing failed (the sealed model stays verifiable): " + e.getMessage());
        }
    }

    private ProvenanceFacts provenanceFacts(Job job, ContainerPlan plan) {
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("memory", plan.limits().memory().toString());
        limits.put("cpus", plan.limits().cpus());
        limits.put("pids", plan.limits().pids());
        limits.put("maxRuntime", DurationText.format(plan.limits().maxRuntime()));
        limits.put("tmp", plan.tmpfs().isEmpty() ? "0" : plan.tmpfs().get(0).size().toString());
        limits.put("shm", plan.shmSize().toString());
        limits.put("outputSize", plan.outputSize().toString());
        limits.put("logSize", plan.logSize().toString());
        return new ProvenanceFacts(job.id().value(), settings.builderId(), job.submittedSpec(), job.policy(),
                job.policyDigest(), plan.seccomp().name(), job.seccompDigest(), job.runtime(), plan.user().toString(),
                limits, plan.image().repository(), plan.image().digest(), job.imagePinnedBy(), job.dataset(),
                job.datasetDigest(), plan.labels().get(Admission.LABEL_DATASET_SIGNER),
                plan.labels().get(Admission.LABEL_DATASET_SIGNER_ISSUER), job.submittedAt(), job.startedAt(),
                job.finishedAt(), settings.imageProvenances().of(plan.image()).orElse(null));
    }

    private static String failureReason(RunResult r) {
        List<String> parts = new ArrayList<>();
        if (r.failure() != null && !r.failure().isBlank()) {
            parts.add(r.failure());
        }
        if (r.exitCode() != null && r.exitCode() != 0) {
            parts.add("exited with code " + r.exitCode());
        }
        if (!r.outputProblems().isEmpty()) {
            parts.add("outputs refused: " + String.join("; ", r.outputProblems()));
        }
        return parts.isEmpty() ? "failed" : String.join("; ", parts);
    }

    private void transition(JobId id, JobState next, String why) {
        try {
            Job j = store.update(id, job -> job.moveTo(next, clock.instant(), why));
            audit.record("cloister", "job.state", id.value(), next.name(), Map.of("reason", why,
                    "exitCode", j.exitCode() == null ? "-" : j.exitCode().toString()));
        } catch (IllegalStateException e) {
            // A late event (e.g. the container ending after a cancel was recorded): the first final state stands.
            LOG.debugf("ignored transition of %s to %s: %s", id, next, e.getMessage());
        }
    }

    /** Cancels a queued or running job; returns the job as it then stands, or empty if unknown. */
    public Optional<Job> cancel(JobId id, String actor) {
        Optional<Job> job = store.find(id);
        if (job.isEmpty()) {
            return job;
        }
        audit.record(actor, "job.cancel", id.value(), job.get().state().isFinal() ? "ignored" : "requested", Map.of());
        if (job.get().state().isFinal()) {
            return job;
        }
        cancelRequested.add(id);
        if (job.get().state() == JobState.QUEUED) {
            transition(id, JobState.CANCELLED, "cancelled on request before it started");
        }
        runtime.cancel(id.value());
        return store.find(id);
    }

    /**
     * Reconciles, after a start, every job not in a final state with what the engine has of it (its containers carry
     * this instance's label), and removes this instance's containers that belong to no job. Queued jobs are queued
     * again; a running job whose container still runs is followed again to its end (deadline, log, outputs);
     * one whose container exited while the service was down has its outputs collected and goes on as usual (seal,
     * package, publish); one whose container is gone is FAILED. Sealing is redone from the start (it is idempotent),
     * a SEALED job is verified before it is published, a PACKAGED one is published again (same image digest).
     */
    public void recover() {
        Map<String, List<LeftContainer>> left = new LinkedHashMap<>();
        try {
            for (LeftContainer c : runtime.containers(Admission.LABEL_INSTANCE, admission.instance())) {
                left.computeIfAbsent(String.valueOf(c.jobId()), k -> new ArrayList<>()).add(c);
            }
        } catch (SandboxException e) {
            // Without the engine nothing can be settled; the jobs stay as recorded and the next start tries again.
            LOG.errorf("recovery: cannot list this instance's containers: %s", e.getMessage());
            audit.record("cloister", "recovery", "-", "failed", Map.of("reason", e.getMessage()));
            return;
        }
        List<JobId> requeue = new ArrayList<>();
        for (Job job : store.all()) {
            List<LeftContainer> containers = left.remove(job.id().value());
            if (job.state().isFinal()) {
                if (containers != null) {
                    containers.forEach(c -> removeLeftover(c, "recovery.stale", job.id().value()));
                }
                continue;
            }
            try {
                recover(job, containers == null ? List.of() : containers, requeue);
            } catch (RuntimeException e) {
                LOG.errorf(e, "recovery of job %s failed", job.id());
                transition(job.id(), JobState.FAILED, "internal error while recovering the job after a restart");
            }
        }
        left.values().forEach(cs -> cs.forEach(c -> {
            removeLeftover(c, "recovery.orphan", "-");
            releaseOrphanMounts(c);
        }));
        // Queued last, in submission order: the settled jobs' mounts are released by now.
        requeue.forEach(id -> workers.submit(() -> execute(id)));
    }

    private void recover(Job job, List<LeftContainer> containers, List<JobId> requeue) {
        JobId id = job.id();
        Optional<ContainerPlan> found = store.plan(id);
        if (found.isEmpty()) {
            transition(id, JobState.FAILED, "the job's plan is missing: it cannot be resumed after a restart");
            return;
        }
        ContainerPlan plan = found.get();
        Path artifactDir = settings.artifactRoot().resolve(id.value());
        switch (job.state()) {
            case QUEUED -> {
                // A container created but never started (the service died in between) is removed; the job runs anew.
                containers.forEach(c -> removeLeftover(c, "recovery.unstarted", id.value()));
                reclaim(plan);
                audit.record("cloister", "recovery.job", id.value(), "requeued", Map.of());
                requeue.add(id);
            }
            case RUNNING -> settleRunning(id, plan, artifactDir, containers);
            case SUCCEEDED -> {
                audit.record("cloister", "recovery.job", id.value(), "resealing", Map.of());
                workers.submit(() -> seal(id, plan, artifactDir));
            }
            case SEALED -> {
                try {
                    sealCheck.verify(artifactDir, job.keyId());
                } catch (VerificationException | RuntimeException e) {
                    transition(id, JobState.FAILED, "the seal no longer verifies after a restart: " + e.getMessage());
                    return;
                }
                audit.record("cloister", "recovery.job", id.value(), "publishing", Map.of());
                workers.submit(() -> publish(id, artifactDir));
            }
            case PACKAGED -> {
                audit.record("cloister", "recovery.job", id.value(), "republishing", Map.of());
                workers.submit(() -> publish(id, artifactDir));
            }
            default -> throw new IllegalStateException("unexpected state " + job.state());
        }
    }

    private void settleRunning(JobId id, ContainerPlan plan, Path artifactDir, List<LeftContainer> containers) {
        if (containers.isEmpty()) {
            reclaim(plan);
            audit.record("cloister", "recovery.job", id.value(), "vanished", Map.of());
            transition(id, JobState.FAILED, "container vanished while the service was down");
            return;
        }
        LeftContainer container = containers.get(0);
        containers.subList(1, containers.size()).forEach(c -> removeLeftover(c, "recovery.duplicate", id.value()));
        if (container.running()) {
            // Still running: followed to its end like any run (a worker slot, the deadline from its own start).
            audit.record("cloister", "recovery.job", id.value(), "reattached", Map.of("container", container.containerId()));
            workers.submit(() -> resume(id, plan, artifactDir, container));
            return;
        }
        RunResult result;
        try {
            result = runtime.settle(plan, container.containerId(), artifactDir);
        } catch (SandboxException e) {
            LOG.warnf("recovery: settling job %s failed: %s", id, e.getMessage());
            removeLeftover(container, "recovery.unsettled", id.value());
            transition(id, JobState.FAILED, "service restarted while running; its container could not be settled: "
                    + e.getMessage());
            return;
        }
        audit.record("cloister", "recovery.job", id.value(), "collected", Map.of("container", container.containerId(),
                "outputs", result.outputs().size()));
        workers.submit(() -> finish(id, plan, artifactDir, result));
    }

    private void resume(JobId id, ContainerPlan plan, Path artifactDir, LeftContainer container) {
        if (cancelRequested.contains(id)) {
            runtime.cancel(id.value());
        }
        follow(id, plan, artifactDir, () -> runtime.resume(plan, container.containerId(), artifactDir), e -> {
            removeLeftover(container, "recovery.unsettled", id.value());
            return "service restarted while running; its container could not be followed: " + e.getMessage();
        }, "internal error while following the job after a restart");
    }

    private void reclaim(ContainerPlan plan) {
        try {
            runtime.reclaim(plan);
        } catch (SandboxException e) {
            LOG.warnf("recovery: job %s: %s", plan.jobId(), e.getMessage());
        }
    }

    // A container no job owns (a federation site's, say, from a killed process) may have left its mounts behind.
    private void releaseOrphanMounts(LeftContainer c) {
        JobId id;
        try {
            id = new JobId(String.valueOf(c.jobId()));
        } catch (IllegalArgumentException e) {
            return;
        }
        try {
            runtime.release(admission.workDir(id));
        } catch (SandboxException | RuntimeException e) {
            audit.record("cloister", "recovery.orphan", id.value(), "failed", Map.of("reason",
                    String.valueOf(e.getMessage())));
            LOG.warnf("recovery.orphan: could not release the mounts of %s: %s", id, e.getMessage());
        }
    }

    private void removeLeftover(LeftContainer c, String action, String jobId) {
        try {
            runtime.remove(c.containerId());
            audit.record("cloister", action, c.containerId(), "removed", Map.of("jobId", String.valueOf(c.jobId()),
                    "running", c.running()));
            LOG.infof("%s: removed container %s (job %s)", action, shortId(c.containerId()), c.jobId());
        } catch (SandboxException | RuntimeException e) {
            audit.record("cloister", action, c.containerId(), "failed", Map.of("jobId", String.valueOf(c.jobId()),
                    "reason", String.valueOf(e.getMessage())));
            LOG.warnf("%s: could not remove container %s: %s", action, c.containerId(), e.getMessage());
        }
    }

    public Optional<Job> find(JobId id) {
        return store.find(id);
    }

    public List<Job> list() {
        return store.all();
    }

    public Optional<ContainerPlan> plan(JobId id) {
        return store.plan(id);
    }

    /** CIS Docker Benchmark section 5 results of the job's container, once it was created. */
    public Optional<List<CisResult>> cis(JobId id) {
        return store.cis(id);
    }

    public Optional<Path> logFile(JobId id) {
        return plan(id).map(SandboxRuntime::logFile);
    }

    private static String shortId(String containerId) {
        return containerId.length() > 12 ? containerId.substring(0, 12) : containerId;
    }

    /**
     * Shuts down leaving running jobs running (the engine keeps their containers under live-restore): stops
     * admitting, lets go of every run without stopping it, leaves queued jobs QUEUED, and records the shutdown. The
     * next start follows the running jobs again and runs the queued ones ({@link #recover}).
     */
    public void detach() {
        if (detached) {
            return;
        }
        detached = true;
        accepting = false;
        List<String> running = store.all().stream().filter(j -> j.state() == JobState.RUNNING)
                .map(j -> j.id().value()).toList();
        long queued = store.all().stream().filter(j -> j.state() == JobState.QUEUED).count();
        runtime.detach();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        audit.record("cloister", "service.shutdown", "-", "detached", Map.of("running", running,
                "queued", queued));
        LOG.infof("shut down: %d running job(s) left to the engine, %d queued job(s) kept", running.size(), queued);
    }

    /**
     * Stops admitting and stops running containers, so none is left behind without a record. Queued jobs stay
     * QUEUED in the store and run after the next start ({@link #recover}).
     */
    @Override
    public void close() {
        if (detached) {
            return; // the runs were let go on purpose: cancelling now would stop them
        }
        accepting = false;
        for (Job j : store.all()) {
            if (!j.state().isFinal()) {
                cancelRequested.add(j.id());
                runtime.cancel(j.id().value());
            }
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
