package dev.cloister.dataset;

import dev.cloister.digest.Digest;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * A registered dataset: a directory under the datasets root, known to jobs only by name, owned by one team: only
 * that team's jobs may mount it.
 *
 * @param signature the Sigstore signature verified at registration, or null when it was registered unsigned
 */
public record Dataset(String name, String team, Path directory, Digest digest, long files, long bytes, Instant registeredAt,
                      DatasetSignature signature) {

    /** An unsigned dataset. */
    public Dataset(String name, String team, Path directory, Digest digest, long files, long bytes,
                   Instant registeredAt) {
        this(name, team, directory, digest, files, bytes, registeredAt, null);
    }

    /** Whether jobs of {@code team} may mount this dataset. */
    public boolean ownedBy(String team) {
        return this.team.equals(team);
    }

    public Optional<DatasetSignature> signed() {
        return Optional.ofNullable(signature);
    }
}
