package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.SeccompProfile;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.persistence.EntityManager;
import jakarta.persistence.LockModeType;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Jobs in the database (Hibernate ORM, Panache entities {@link JobRow} and {@link TransitionRow}), each call one
 * transaction. Times are kept to the microsecond, which both H2 and PostgreSQL store exactly, so a job read back
 * equals the job written.
 */
final class DatabaseJobRows implements JobRows {

    // Specs were checked at submission; re-reading the stored JSON only rebuilds the record, so the cap is generous.
    private final JobSpecReader specs = new JobSpecReader(JobRow.LONG_TEXT);
    private final Set<String> storedProfiles = ConcurrentHashMap.newKeySet();

    @Override
    public List<Job> loadAll() {
        return inTransaction(() -> {
            Map<String, List<TransitionRow>> history = new HashMap<>();
            for (TransitionRow t : TransitionRow.<TransitionRow>list("order by jobId, seq")) {
                history.computeIfAbsent(t.jobId, k -> new ArrayList<>()).add(t);
            }
            List<Job> jobs = new ArrayList<>();
            for (JobRow row : JobRow.<JobRow>listAll()) {
                jobs.add(toJob(row, history.getOrDefault(row.id, List.of())));
            }
            return jobs;
        });
    }

    @Override
    public Optional<Job> find(JobId id) {
        return inTransaction(() -> {
            JobRow row = JobRow.findById(id.value());
            return row == null ? Optional.empty() : Optional.of(toJob(row, history(id)));
        });
    }

    @Override
    public Job insert(Job job, ContainerPlan plan) {
        // No look-up first: ids are 128 random bits, and the primary key refuses a collision at commit anyway.
        storeProfile(plan.seccomp());
        return inTransaction(() -> {
            JobRow row = new JobRow();
            row.id = job.id().value();
            copy(job, row);
            row.plan = JobJson.plan(plan);
            row.persist();
            List<TransitionRow> history = append(job, List.of());
            return toJob(row, history);
        });
    }

    @Override
    public Job update(JobId id, UnaryOperator<Job> change) {
        return inTransaction(() -> {
            EntityManager em = JobRow.getEntityManager();
            JobRow row = em.find(JobRow.class, id.value(), LockModeType.PESSIMISTIC_WRITE);
            if (row == null) {
                throw new IllegalStateException("no job " + id);
            }
            List<TransitionRow> history = history(id);
            Job before = toJob(row, history);
            Job after = change.apply(before);
            if (!after.id().equals(id) || after.history().size() < before.history().size()
                    || !after.history().subList(0, before.history().size()).equals(before.history())) {
                throw new IllegalStateException("a job's id never changes and its history only grows: " + id);
            }
            copy(after, row);
            return toJob(row, append(after, history));
        });
    }

    @Override
    public Optional<ContainerPlan> plan(JobId id) {
        return inTransaction(() -> JobRow.getEntityManager()
                .createQuery("select j.plan from JobRow j where j.id = :id", String.class)
                .setParameter("id", id.value()).getResultStream().findFirst()
                .map(json -> JobJson.plan(json, DatabaseJobRows::profileText)));
    }

    // Once per profile text, in its own transaction before the plan that refers to it (a stored profile no plan
    // uses is harmless). storedProfiles holds digests whose row is committed, so those need no look-up; rows are
    // never deleted. Synchronized so that a burst of first submissions under a new profile inserts it once.
    private void storeProfile(SeccompProfile profile) {
        String digest = profile.digest().toString();
        if (!storedProfiles.contains(digest)) { // every submission after the first under a profile stops here
            storeProfileOnce(profile, digest);
        }
    }

    private synchronized void storeProfileOnce(SeccompProfile profile, String digest) {
        if (storedProfiles.contains(digest)) {
            return;
        }
        QuarkusTransaction.requiringNew().run(() -> {
            if (SeccompProfileRow.findById(digest) == null) {
                SeccompProfileRow row = new SeccompProfileRow();
                row.digest = digest;
                row.name = profile.name();
                row.json = profile.json();
                row.persist();
            }
        });
        storedProfiles.add(digest);
    }

    private static Optional<String> profileText(Digest digest) {
        return SeccompProfileRow.<SeccompProfileRow>findByIdOptional(digest.toString()).map(r -> r.json);
    }

    @Override
    public void saveCis(JobId id, List<CisResult> cis) {
        inTransaction(() -> {
            int n = JobRow.update("cis = ?1 where id = ?2", JobJson.cis(cis), id.value());
            if (n != 1) {
                throw new IllegalStateException("no job " + id);
            }
            return null;
        });
    }

    @Override
    public Optional<List<CisResult>> cis(JobId id) {
        return inTransaction(() -> JobRow.getEntityManager()
                .createQuery("select j.cis from JobRow j where j.id = :id", String.class)
                .setParameter("id", id.value()).getResultStream()
                .filter(java.util.Objects::nonNull).findFirst().map(JobJson::cis)); // null until the container was inspected
    }

    private static List<TransitionRow> history(JobId id) {
        return TransitionRow.list("jobId = ?1 order by seq", id.value());
    }

    // Persists the transitions of job beyond those already stored; returns the whole stored history.
    private static List<TransitionRow> append(Job job, List<TransitionRow> stored) {
        List<TransitionRow> all = new ArrayList<>(stored);
        for (int i = stored.size(); i < job.history().size(); i++) {
            Job.Transition t = job.history().get(i);
            TransitionRow row = new TransitionRow();
            row.jobId = job.id().value();
            row.seq = i;
            row.fromState = t.from() == null ? null : t.from().name();
            row.toState = t.to().name();
            row.at = micros(t.at());
            row.reason = t.reason();
            row.persist();
            all.add(row);
        }
        return all;
    }

    private static void copy(Job job, JobRow row) {
        row.policy = job.policy();
        row.policyDigest = job.policyDigest().toString();
        row.seccompDigest = job.seccompDigest().toString();
        row.runtime = job.runtime();
        row.image = job.image();
        row.imageId = job.imageId().toString();
        row.imagePinnedBy = job.imagePinnedBy();
        row.dataset = job.dataset();
        row.datasetDigest = text(job.datasetDigest());
        row.state = job.state().name();
        row.submittedAt = micros(job.submittedAt());
        row.startedAt = micros(job.startedAt());
        row.finishedAt = micros(job.finishedAt());
        row.exitCode = job.exitCode();
        row.reason = job.reason();
        row.outputs = JobJson.strings(job.outputs());
        row.artifactDir = job.artifactDir();
        row.submittedSpec = job.submittedSpec();
        row.modelDigest = text(job.modelDigest());
        row.keyId = job.keyId();
        row.servingImage = job.servingImage();
        row.reproductionOf = job.reproductionOf() == null ? null : job.reproductionOf().value();
    }

    private Job toJob(JobRow row, List<TransitionRow> history) {
        JobSpec spec;
        try {
            spec = specs.parse(row.submittedSpec.getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.JSON).spec();
        } catch (MalformedSpecException e) {
            throw new IllegalStateException("stored spec of job " + row.id + " is not readable: " + e.getMessage(), e);
        }
        List<Job.Transition> transitions = history.stream().map(t -> new Job.Transition(
                t.fromState == null ? null : JobState.valueOf(t.fromState), JobState.valueOf(t.toState), t.at,
                t.reason)).toList();
        return new Job(new JobId(row.id), spec, row.policy, Digest.parse(row.policyDigest),
                Digest.parse(row.seccompDigest), row.runtime, row.image, Digest.parse(row.imageId), row.imagePinnedBy,
                row.dataset, row.datasetDigest == null ? null : Digest.parse(row.datasetDigest),
                JobState.valueOf(row.state), row.submittedAt, row.startedAt, row.finishedAt, row.exitCode, row.reason,
                JobJson.strings(row.outputs), row.artifactDir, row.submittedSpec,
                row.modelDigest == null ? null : Digest.parse(row.modelDigest), row.keyId, row.servingImage,
                transitions, row.reproductionOf == null ? null : new JobId(row.reproductionOf));
    }

    private static String text(Digest d) {
        return d == null ? null : d.toString();
    }

    private static Instant micros(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MICROS);
    }

    // Runtime exceptions (e.g. a refused transition) roll back and reach the caller unchanged.
    private static <T> T inTransaction(Supplier<T> work) {
        return QuarkusTransaction.joiningExisting().call(work::get);
    }
}
