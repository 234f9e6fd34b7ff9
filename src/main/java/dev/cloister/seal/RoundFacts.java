package dev.cloister.seal;

import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.List;

/**
 * One federated round as the host ran it, for its signed record ({@link RoundStatement}).
 *
 * @param previousRecord SHA-256 of the previous round record's bytes, or null for round 1
 * @param output         the next global weights' digest, or null when the round failed
 * @param reason         why the round failed, or null
 */
public record RoundFacts(
        String federationId,
        String federationName,
        Digest specDigest,
        int round,
        int rounds,
        Digest previousRecord,
        String inputName,
        Digest input,
        String aggregation,
        Double clipNorm,
        int quorum,
        List<Accepted> accepted,
        List<Excluded> excluded,
        String outputName,
        Digest output,
        String reason,
        String imageRepository,
        Digest imageDigest,
        String builderId,
        Instant startedOn,
        Instant finishedOn) {

    public RoundFacts {
        accepted = List.copyOf(accepted);
        excluded = List.copyOf(excluded);
        if ((output == null) == (reason == null)) {
            throw new IllegalArgumentException("a round has an output or a failure reason, not both");
        }
    }

    /** An update the host accepted: its site, the digest of the file as the site wrote it, and how it counted. */
    public record Accepted(String site, String team, String dataset, Digest datasetDigest, String policy,
                           Digest policyDigest, Digest update, long examples, double norm, boolean clipped) {
    }

    /** A site left out of the round, and why. */
    public record Excluded(String site, String team, String reason) {
    }
}
