package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.job.ModelOrigin;

import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What the control plane knows about a sealed model, for the serving image's labels and attestation. The builder
 * checks each field against the sealed directory (its OMS root digest and its training provenance) before using it.
 *
 * @param origin      the job or federation that trained the model (its training provenance's invocation id)
 * @param modelDigest the OMS root digest of the sealed model
 * @param policy      the name of the policy the model was trained under
 * @param created     the image's creation time: fixed per model (e.g. when it was sealed), so that building the same
 *                    sealed model again gives the same image digest
 */
public record ModelMetadata(ModelOrigin origin, Digest modelDigest, String policy, Instant created) {

    private static final Pattern POLICY = Pattern.compile("[a-z][a-z0-9-]{0,62}");

    public ModelMetadata {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(modelDigest, "modelDigest");
        Objects.requireNonNull(created, "created");
        if (policy == null || !POLICY.matcher(policy).matches()) {
            throw new IllegalArgumentException("not a policy name: '" + policy + "'");
        }
    }

    /** A job's model. */
    public ModelMetadata(JobId job, Digest modelDigest, String policy, Instant created) {
        this(ModelOrigin.of(job), modelDigest, policy, created);
    }
}
