package dev.cloister.build;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A training image Cloister built, as recorded beside its signed provenance ({@code <data-dir>/images/builds/}).
 *
 * @param image            {@code registry/repository@sha256:<manifest digest>}: how jobs name it
 * @param imageId          the engine's image ID (config digest)
 * @param bases            every external base, {@code repository@sha256:<manifest digest>}
 * @param provenanceDigest SHA-256 of the signed provenance bundle's bytes, which a job's provenance names
 * @param log              the tail of the build output
 */
public record BuildRecord(
        String id,
        String team,
        String image,
        String repository,
        String tag,
        String manifestDigest,
        String imageId,
        String policy,
        String policyDigest,
        String contextDigest,
        String dockerfileDigest,
        List<String> bases,
        Map<String, String> buildArgs,
        String builderId,
        String keyId,
        String provenanceDigest,
        Instant startedOn,
        Instant finishedOn,
        String log) {

    public BuildRecord {
        bases = List.copyOf(bases);
        buildArgs = Map.copyOf(buildArgs);
    }
}
