package dev.cloister.sandbox;

import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ImageRef;

import java.nio.file.Path;

/**
 * Executes admitted {@link ContainerPlan}s. A runtime adds no policy: it maps each plan field to its engine and
 * throws {@link SandboxException} for any field it cannot honour.
 */
public interface SandboxRuntime {

    /** Finds the pinned image on this host and says whether the digest matched its image ID or a registry digest. */
    ResolvedImage resolve(ImageRef image) throws SandboxException;

    /**
     * {@link #resolve}, for admitting a job: the answer may be a few seconds old (the run resolves the image again
     * before it creates the container), so that a busy queue does not ask the engine on every submission.
     */
    default ResolvedImage resolveForAdmission(ImageRef image) throws SandboxException {
        return resolve(image);
    }

    /**
     * The image of a job or federation being admitted, or null with the reason added to {@code violations} (field
     * {@code image}) when it is not on this host; an engine that cannot be asked is an error, not a violation.
     */
    default ResolvedImage admitImage(ImageRef image, java.util.List<dev.cloister.policy.Violation> violations)
            throws SandboxException {
        try {
            return resolveForAdmission(image);
        } catch (SandboxException e) {
            if (e.kind() != SandboxException.Kind.IMAGE_NOT_FOUND) {
                throw e;
            }
            violations.add(new dev.cloister.policy.Violation("image", e.getMessage()));
            return null;
        }
    }

    /**
     * Runs the plan to its end (blocking): creates the container, starts it, enforces the deadline, writes the job
     * log (capped at the plan's log size) to {@link #logFile(ContainerPlan)}, collects {@code /out} into
     * {@code artifactDir}, and removes the container.
     */
    RunResult run(ContainerPlan plan, Path artifactDir, RunListener listener) throws SandboxException;

    /** Stops the job's container if it is running (SIGTERM, then SIGKILL after the plan's grace); idempotent. */
    void cancel(String jobId);

    /**
     * Containers, running or not, whose label {@code key} has {@code value}: what a restarted service finds of its
     * jobs on the engine.
     */
    java.util.List<LeftContainer> containers(String key, String value) throws SandboxException;

    /**
     * Ends a job whose container outlived the service that ran it: stops the container if it still runs (SIGTERM,
     * then SIGKILL after the plan's grace; outcome CANCELLED), collects {@code /out} into {@code artifactDir} if its
     * tmpfs survived (an output problem says so otherwise), releases the job's host mounts and removes the container.
     */
    RunResult settle(ContainerPlan plan, String containerId, Path artifactDir) throws SandboxException;

    /**
     * Takes over a job whose container still runs after the service that started it stopped: follows it to its end
     * under the same rules as {@link #run} (the deadline counts from the container's own start; cancel works), writes
     * the whole log again from the engine's copy, then settles it as {@link #settle} does.
     */
    RunResult resume(ContainerPlan plan, String containerId, Path artifactDir) throws SandboxException;

    /**
     * Lets go of every run in flight without stopping it, for a shutdown that leaves jobs running (the engine keeps
     * them under live-restore): their containers, host mounts and outputs stay for the next process, which follows
     * them again ({@link #resume}). The blocked {@link #run} and {@link #resume} calls end with a
     * {@link SandboxException.Kind#DETACHED} exception.
     */
    void detach();

    /** Releases host mounts left in the job's work directory by an earlier process; idempotent. */
    void reclaim(ContainerPlan plan) throws SandboxException;

    /**
     * Releases host mounts an earlier process left in a work directory whose plan is gone (an orphan container's,
     * such as a federation site's from a killed process); idempotent, nothing to do when the directory is absent.
     */
    void release(Path workDir) throws SandboxException;

    /** Removes a container (force); idempotent. */
    void remove(String containerId) throws SandboxException;

    /** Where the job's log is written; readable while the job runs. */
    static Path logFile(ContainerPlan plan) {
        return plan.workDir().resolve("job.log");
    }
}
