package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.keys.KeyId;

import java.time.Instant;
import java.util.Optional;

/**
 * A serving image whose signature and attestation verified with the pinned key, and what the attestation states.
 *
 * @param image              the verified image, pinned by the digest its reference resolved to
 * @param keyId              the pinned key that verified the signature and the attestation
 * @param jobId              the training job whose sealed model the image serves
 * @param trainingPolicy     the policy the model was trained under
 * @param datasetDigest      the training data set's digest, when the model had one
 * @param baseImage          the base image, pinned by digest
 * @param modelDigest        the sealed model's OMS root digest
 * @param trainingProvenance digest of the model's training provenance file
 * @param builtOn            when the image was built (the attestation's {@code finishedOn})
 * @param builderId          the SLSA builder (Cloister host) that built and signed it
 */
public record VerifiedImage(ImageReference image, KeyId keyId, String jobId, String trainingPolicy,
                            Optional<Digest> datasetDigest, ImageReference baseImage, Digest modelDigest,
                            Digest trainingProvenance, Instant builtOn, String builderId) {

    /** The verified manifest digest. */
    public Digest digest() {
        return image.digest().orElseThrow();
    }
}
