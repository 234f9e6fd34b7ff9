package dev.cloister.image;

import dev.cloister.verify.VerificationException;

import java.util.List;
import java.util.Objects;

/**
 * An image did not verify: {@link #failures()} gives every failed check, each with the kind of check and a sentence
 * saying what was found (no signature tag, a signature by another key, a signature or attestation copied from
 * another image, a release policy violation, ...).
 */
public class ImageVerificationException extends VerificationException {

    /** The kind of check that failed. */
    public enum Check {
        /** The pinned public key cannot be used. */
        KEY,
        /** The registry could not be read, or answered with something malformed or too large. */
        REGISTRY,
        /** The image itself: the tag or digest does not exist, or the registry's digest is not the content's. */
        IMAGE,
        /** There is no {@code sha256-<hex>.sig} tag: the image at this digest was never signed. */
        SIGNATURE_MISSING,
        /** A signature exists but does not verify with the pinned key, or is malformed. */
        SIGNATURE_INVALID,
        /** A signature verifies but was made for another image or repository (copied). */
        SIGNATURE_MISMATCH,
        /** There is no {@code sha256-<hex>.att} tag. */
        ATTESTATION_MISSING,
        /** An attestation exists but does not verify with the pinned key, or is malformed. */
        ATTESTATION_INVALID,
        /** An attestation verifies but its subject is another image (copied). */
        ATTESTATION_MISMATCH,
        /** The image's labels contradict its signed attestation. */
        LABELS,
        /** The deployer's release policy does not allow this image. */
        RELEASE_POLICY
    }

    /** One failed check. */
    public record Failure(Check check, String message) {
        public Failure {
            Objects.requireNonNull(check, "check");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return message;
        }
    }

    private final List<Failure> failures;

    public ImageVerificationException(List<Failure> failures) {
        super(failures.stream().map(Failure::message).toList());
        this.failures = List.copyOf(failures);
    }

    /** Every failed check, in the order found. */
    public List<Failure> failures() {
        return failures;
    }

    /** Whether some failure is of kind {@code check}. */
    public boolean failed(Check check) {
        return failures.stream().anyMatch(f -> f.check() == check);
    }
}
