package dev.cloister.job;

import dev.cloister.cis.CisResult;
import dev.cloister.policy.ContainerPlan;

import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** Where {@link JobStore} keeps its jobs: the database in the service, memory in unit tests. */
interface JobRows {

    /** Every job with its whole history. */
    List<Job> loadAll();

    /** One job with its history, read from the rows themselves. */
    Optional<Job> find(JobId id);

    /** Stores a new job with its plan; returns the job as stored. */
    Job insert(Job job, ContainerPlan plan);

    /**
     * Applies {@code change} to the stored job in one transaction (the job's row locked meanwhile) and returns the job
     * as stored; the history may only grow. An exception from {@code change} leaves the rows as they were.
     */
    Job update(JobId id, UnaryOperator<Job> change);

    Optional<ContainerPlan> plan(JobId id);

    void saveCis(JobId id, List<CisResult> cis);

    Optional<List<CisResult>> cis(JobId id);
}
