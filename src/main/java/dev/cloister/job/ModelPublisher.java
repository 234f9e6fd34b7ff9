package dev.cloister.job;

import dev.cloister.digest.Digest;

import java.nio.file.Path;

/**
 * Packages a sealed job's model into a serving image and signs it. Implemented by the image package; the job
 * service only moves the job through PACKAGED and PUBLISHED as each step completes.
 */
public interface ModelPublisher {

    /** A pushed image: {@code reference} is {@code registry/repository:tag@sha256:...}. */
    record Packaged(String reference, Digest digest, Object handle) {
    }

    /** The image's signature and attestation, as pushed. */
    record Published(String signatureTag, String attestationTag, String keyId) {
    }

    /** Builds and pushes the serving image for a sealed job. */
    Packaged packageModel(Job job, Path sealedDir) throws PublishException;

    /** Signs what {@link #packageModel} pushed. */
    Published sign(Packaged packaged) throws PublishException;

    /** Packaging or signing failed; the message is safe to show the job's owner. */
    class PublishException extends Exception {
        public PublishException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
