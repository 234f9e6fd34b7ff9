package dev.cloister.job;

import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;

import java.util.Optional;

/** Finds how a job's training image was made: the digest of its signed build provenance, when Cloister built it. */
@FunctionalInterface
public interface ImageProvenances {

    /** No image has build provenance. */
    ImageProvenances NONE = image -> Optional.empty();

    Optional<Digest> of(ImageRef image);
}
