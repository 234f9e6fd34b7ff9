package dev.cloister.job;

import dev.cloister.digest.Digest;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;

/**
 * Packages a sealed model into a serving image and signs it. Implemented by the image package; the job and
 * federation services only move their state through PACKAGED and PUBLISHED as each step completes.
 */
public interface ModelPublisher {

    /**
     * What the control plane knows of a sealed model, which is all packaging needs. The rest (training provenance
     * digest, data sets) is read from the sealed directory's signed provenance and checked against these facts.
     *
     * @param origin      the job or federation that trained it (its provenance's invocation id)
     * @param name        the job's or federation's name: the image repository is {@code <prefix>/<name>}
     * @param modelDigest the OMS root digest the model was sealed with
     * @param policy      the policy it was trained under
     * @param sealedAt    when it was sealed: the image's creation time, so that rebuilding gives the same digest
     * @param dir         the sealed directory (model files, {@code model.sig}, {@code provenance.sigstore.json})
     */
    record SealedModel(ModelOrigin origin, String name, Digest modelDigest, String policy, Instant sealedAt,
                       Path dir) {
        public SealedModel {
            Objects.requireNonNull(origin, "origin");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(modelDigest, "modelDigest");
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(sealedAt, "sealedAt");
            Objects.requireNonNull(dir, "dir");
        }
    }

    /** A pushed image: {@code reference} is {@code registry/repository:tag@sha256:...}. */
    record Packaged(String reference, Digest digest, Object handle) {
    }

    /** The image's signature and attestation, as pushed. */
    record Published(String signatureTag, String attestationTag, String keyId) {
    }

    /** Builds and pushes the serving image of a sealed model. */
    Packaged packageModel(SealedModel model) throws PublishException;

    /** Signs what {@link #packageModel} pushed. */
    Published sign(Packaged packaged) throws PublishException;

    /** Packaging or signing failed; the message is safe to show the model's owner. */
    class PublishException extends Exception {
        public PublishException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
