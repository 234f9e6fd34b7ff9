package dev.cloister.dataset;

import dev.cloister.digest.Digest;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * A registered dataset: a directory under the datasets root, known to jobs only by name.
 *
 * @param signature the Sigstore signature verified at registration, or null when it was registered unsigned
 */
public record Dataset(String name, Path directory, Digest digest, long files, long bytes, Instant registeredAt,
                      DatasetSignature signature) {

    /** An unsigned dataset. */
    public Dataset(String name, Path directory, Digest digest, long files, long bytes, Instant registeredAt) {
        this(name, directory, digest, files, bytes, registeredAt, null);
    }

    public Optional<DatasetSignature> signed() {
        return Optional.ofNullable(signature);
    }
}
