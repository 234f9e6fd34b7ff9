package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.job.ModelOrigin;
import dev.cloister.keys.KeyId;

import java.time.Instant;
import java.util.List;

/**
 * A serving image whose signature and attestation verified with the pinned key, and what the attestation states.
 *
 * @param image              the verified image, pinned by the digest its reference resolved to
 * @param keyId              the pinned key that verified the signature and the attestation
 * @param origin             the training job or federation whose sealed model the image serves (its id)
 * @param trainingPolicy     the policy the model was trained under
 * @param datasetDigests     the training data sets' digests (one per site for a federation; none or one for a job)
 * @param baseImage          the base image, pinned by digest
 * @param modelDigest        the sealed model's OMS root digest
 * @param trainingProvenance digest of the model's training provenance file
 * @param builtOn            when the image was built (the attestation's {@code finishedOn})
 * @param builderId          the SLSA builder (Cloister host) that built and signed it
 */
public record VerifiedImage(ImageReference image, KeyId keyId, String origin, String trainingPolicy,
                            List<Digest> datasetDigests, ImageReference baseImage, Digest modelDigest,
                            Digest trainingProvenance, Instant builtOn, String builderId) {

    public VerifiedImage {
        datasetDigests = List.copyOf(datasetDigests);
    }

    /** What trained the model: "job" or "federation". */
    public String originKind() {
        return new ModelOrigin(origin).kind().word();
    }

    /** The verified manifest digest. */
    public Digest digest() {
        return image.digest().orElseThrow();
    }
}
