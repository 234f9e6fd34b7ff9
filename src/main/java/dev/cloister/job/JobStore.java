package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.policy.ContainerPlan;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * The jobs this host knows, updated atomically per job. Every change is written to the rows (the database in the
 * service) in one transaction before it is visible here; reads are served from the jobs as stored, so that
 * {@code GET /api/v1/jobs/{id}} costs no query. One service owns its database: nothing else writes the rows.
 */
public final class JobStore {

    private static final int STRIPES = 64;

    private final JobRows rows;
    private final Map<JobId, Job> jobs = new ConcurrentHashMap<>();
    private final Object[] locks = new Object[STRIPES];

    private JobStore(JobRows rows) {
        this.rows = rows;
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new Object();
        }
        rows.loadAll().forEach(j -> jobs.put(j.id(), j));
    }

    /** Jobs in the database of the running application (Hibernate ORM); loads every stored job with its history. */
    public static JobStore database() {
        return new JobStore(new DatabaseJobRows());
    }

    /** Jobs in memory only, lost with the process (unit tests). */
    public static JobStore inMemory() {
        return new JobStore(new MemoryJobRows());
    }

    void add(Job job, ContainerPlan plan) {
        synchronized (lock(job.id())) {
            if (jobs.containsKey(job.id())) {
                throw new IllegalStateException("job id collision: " + job.id());
            }
            jobs.put(job.id(), rows.insert(job, plan));
        }
    }

    /** Applies {@code change} atomically and durably; returns the new value. */
    Job update(JobId id, UnaryOperator<Job> change) {
        synchronized (lock(id)) {
            Job updated = rows.update(id, change);
            jobs.put(id, updated);
            return updated;
        }
    }

    public Optional<Job> find(JobId id) {
        return Optional.ofNullable(jobs.get(id));
    }

    public List<Job> all() {
        return jobs.values().stream().sorted(Comparator.comparing(Job::submittedAt).thenComparing(j -> j.id().value())).toList();
    }

    /** The plan admission made for the job: what its container runs, and what a restarted service resumes. */
    Optional<ContainerPlan> plan(JobId id) {
        return jobs.containsKey(id) ? rows.plan(id) : Optional.empty();
    }

    void saveCis(JobId id, List<CisResult> cis) {
        rows.saveCis(id, cis);
    }

    Optional<List<CisResult>> cis(JobId id) {
        return jobs.containsKey(id) ? rows.cis(id) : Optional.empty();
    }

    private Object lock(JobId id) {
        return locks[Math.floorMod(id.hashCode(), STRIPES)];
    }
}
