package dev.cloister.job;

import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One job as the host knows it: what was submitted, what admission decided, and how it went. Immutable; each
 * transition yields a new value and appends to {@code history}.
 *
 * @param imagePinnedBy whether the image digest is an image ID or a registry manifest digest
 * @param artifactDir   where collected outputs live, once the job has ended and outputs were collected
 * @param submittedSpec the spec exactly as submitted, as JSON (recorded in the provenance)
 * @param modelDigest   the OMS root digest of the sealed outputs, once sealed
 * @param keyId         the id of the host key that sealed them
 * @param servingImage  the serving image, {@code registry/repository:tag@sha256:...}, once packaged
 * @param reproductionOf the sealed job this one re-runs to check that it reproduces, or null for an ordinary job
 */
public record Job(
        JobId id,
        JobSpec spec,
        String policy,
        Digest policyDigest,
        Digest seccompDigest,
        String runtime,
        String image,
        Digest imageId,
        String imagePinnedBy,
        String dataset,
        Digest datasetDigest,
        JobState state,
        Instant submittedAt,
        Instant startedAt,
        Instant finishedAt,
        Integer exitCode,
        String reason,
        List<String> outputs,
        String artifactDir,
        String submittedSpec,
        Digest modelDigest,
        String keyId,
        String servingImage,
        List<Transition> history,
        JobId reproductionOf) {

    public Job {
        outputs = List.copyOf(outputs);
        history = List.copyOf(history);
    }

    /** One state change, with when and why. */
    public record Transition(JobState from, JobState to, Instant at, String reason) {
    }

    /**
     * Moves to {@code next}; throws {@link IllegalStateException} when the transition is not allowed, so a late
     * event (e.g. a container exiting after a cancel) can never rewrite a final state.
     */
    public Job moveTo(JobState next, Instant at, String why) {
        if (!state.canMoveTo(next)) {
            throw new IllegalStateException("job " + id + " cannot move from " + state + " to " + next);
        }
        List<Transition> h = new ArrayList<>(history);
        h.add(new Transition(state, next, at, why));
        return new Job(id, spec, policy, policyDigest, seccompDigest, runtime, image, imageId, imagePinnedBy, dataset,
                datasetDigest, next, submittedAt, next == JobState.RUNNING ? at : startedAt,
                finishedAt == null && (next.isFinal() || next == JobState.SUCCEEDED) ? at : finishedAt, exitCode,
                why == null ? reason : why, outputs, artifactDir, submittedSpec, modelDigest, keyId, servingImage, h, reproductionOf);
    }

    public Job withResult(Integer exitCode, Instant startedAt, Instant finishedAt, List<String> outputs,
                          String artifactDir) {
        return new Job(id, spec, policy, policyDigest, seccompDigest, runtime, image, imageId, imagePinnedBy, dataset,
                datasetDigest, state, submittedAt, startedAt == null ? this.startedAt : startedAt, finishedAt, exitCode,
                reason, outputs, artifactDir, submittedSpec, modelDigest, keyId, servingImage, history, reproductionOf);
    }

    public Job withSeal(String artifactDir, Digest modelDigest, String keyId) {
        return new Job(id, spec, policy, policyDigest, seccompDigest, runtime, image, imageId, imagePinnedBy, dataset,
                datasetDigest, state, submittedAt, startedAt, finishedAt, exitCode, reason, outputs, artifactDir,
                submittedSpec, modelDigest, keyId, servingImage, history, reproductionOf);
    }

    public Job withServingImage(String reference) {
        return new Job(id, spec, policy, policyDigest, seccompDigest, runtime, image, imageId, imagePinnedBy, dataset,
                datasetDigest, state, submittedAt, startedAt, finishedAt, exitCode, reason, outputs, artifactDir,
                submittedSpec, modelDigest, keyId, reference, history, reproductionOf);
    }
}
