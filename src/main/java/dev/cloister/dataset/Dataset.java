package dev.cloister.dataset;

import dev.cloister.digest.Digest;

import java.nio.file.Path;
import java.time.Instant;

/** A registered dataset: a directory under the datasets root, known to jobs only by name. */
public record Dataset(String name, Path directory, Digest digest, long files, long bytes, Instant registeredAt) {
}
