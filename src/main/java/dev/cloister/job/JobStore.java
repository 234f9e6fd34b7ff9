package dev.cloister.job;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/** The jobs this host knows, updated atomically per job. In memory for now; persistence comes with durable jobs. */
public final class JobStore {

    private final Map<JobId, Job> jobs = new ConcurrentHashMap<>();

    void add(Job job) {
        if (jobs.putIfAbsent(job.id(), job) != null) {
            throw new IllegalStateException("job id collision: " + job.id());
        }
    }

    /** Applies {@code change} atomically; returns the new value. */
    Job update(JobId id, UnaryOperator<Job> change) {
        Job updated = jobs.computeIfPresent(id, (k, j) -> change.apply(j));
        if (updated == null) {
            throw new IllegalStateException("no job " + id);
        }
        return updated;
    }

    public Optional<Job> find(JobId id) {
        return Optional.ofNullable(jobs.get(id));
    }

    public List<Job> all() {
        return jobs.values().stream().sorted(Comparator.comparing(Job::submittedAt).thenComparing(j -> j.id().value())).toList();
    }
}
