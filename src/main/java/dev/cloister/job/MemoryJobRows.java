package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.policy.ContainerPlan;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/** Jobs in memory only: for unit tests of the state machine, where nothing must survive. */
final class MemoryJobRows implements JobRows {

    private final Map<JobId, Job> jobs = new ConcurrentHashMap<>();
    private final Map<JobId, ContainerPlan> plans = new ConcurrentHashMap<>();
    private final Map<JobId, List<CisResult>> cis = new ConcurrentHashMap<>();

    @Override
    public List<Job> loadAll() {
        return List.copyOf(jobs.values());
    }

    @Override
    public Optional<Job> find(JobId id) {
        return Optional.ofNullable(jobs.get(id));
    }

    @Override
    public Job insert(Job job, ContainerPlan plan) {
        if (jobs.putIfAbsent(job.id(), job) != null) {
            throw new IllegalStateException("job id collision: " + job.id());
        }
        plans.put(job.id(), plan);
        return job;
    }

    @Override
    public Job update(JobId id, UnaryOperator<Job> change) {
        Job updated = jobs.computeIfPresent(id, (k, j) -> change.apply(j));
        if (updated == null) {
            throw new IllegalStateException("no job " + id);
        }
        return updated;
    }

    @Override
    public Optional<ContainerPlan> plan(JobId id) {
        return Optional.ofNullable(plans.get(id));
    }

    @Override
    public void saveCis(JobId id, List<CisResult> results) {
        cis.put(id, List.copyOf(results));
    }

    @Override
    public Optional<List<CisResult>> cis(JobId id) {
        return Optional.ofNullable(cis.get(id));
    }
}
