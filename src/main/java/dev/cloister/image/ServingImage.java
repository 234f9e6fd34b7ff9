package dev.cloister.image;

import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.Objects;
import java.util.List;

/**
 * A serving image pushed to a registry, with everything its attestation states: the base it was built on, the
 * sealed model (and that model's own training provenance and data set) and the serving code.
 *
 * @param image              the pushed image: {@code registry/repository:tag@sha256:<manifest digest>}
 * @param base               the base image, pinned by digest
 * @param model              the sealed model's metadata (origin, OMS root digest, training policy, creation time)
 * @param trainingProvenance SHA-256 of the model's {@code provenance.sigstore.json} file as packaged
 * @param datasets           the training data sets, as the model's provenance names them (a federation has one per
 *                           site; a job one or none)
 * @param servingCode        root digest of the serving code files (same scheme as the OMS model digest)
 * @param startedOn          when the build started
 * @param finishedOn         when the image was pushed
 */
public record ServingImage(ImageReference image, ImageReference base, ModelMetadata model, Digest trainingProvenance,
                           List<Dataset> datasets, Digest servingCode, Instant startedOn, Instant finishedOn) {

    /** A training data set: its name in the data set registry and its content digest. */
    public record Dataset(String name, Digest digest) {
        public Dataset {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(digest, "digest");
        }
    }

    public ServingImage {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(trainingProvenance, "trainingProvenance");
        datasets = List.copyOf(datasets);
        Objects.requireNonNull(servingCode, "servingCode");
        Objects.requireNonNull(startedOn, "startedOn");
        Objects.requireNonNull(finishedOn, "finishedOn");
        if (image.digest().isEmpty()) {
            throw new IllegalArgumentException("the serving image must carry its manifest digest");
        }
        if (base.digest().isEmpty()) {
            throw new IllegalArgumentException("the base image must be pinned by digest");
        }
    }

    /** The pushed manifest digest. */
    public Digest digest() {
        return image.digest().orElseThrow();
    }
}
