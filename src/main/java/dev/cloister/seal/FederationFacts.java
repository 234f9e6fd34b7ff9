package dev.cloister.seal;

import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.List;

/**
 * What the control plane knows about a finished federation, for the final model's SLSA provenance. Like
 * {@link ProvenanceFacts}, nothing here comes from a site's output except digests the host took itself.
 *
 * @param spec          the federation spec as submitted, as JSON text
 * @param initialGlobal the digest of round 1's input (zeros of the model's shapes)
 * @param roundRecords  the signed round records in order, each by file name and the digest of its bytes
 */
public record FederationFacts(
        String federationId,
        String builderId,
        String spec,
        String imageRepository,
        Digest imageDigest,
        String imagePinnedBy,
        List<SiteFacts> sites,
        Digest initialGlobal,
        List<RecordRef> roundRecords,
        String aggregation,
        Instant submittedOn,
        Instant startedOn,
        Instant finishedOn) {

    public FederationFacts {
        sites = List.copyOf(sites);
        roundRecords = List.copyOf(roundRecords);
    }

    /** One site as admitted: its team, dataset and policy (with the digests recorded at admission). */
    public record SiteFacts(String site, String team, String dataset, Digest datasetDigest, String policy,
                            Digest policyDigest, String seccompProfile, Digest seccompDigest, String runtime) {
    }

    /** A signed round record: file name and SHA-256 of its bytes. */
    public record RecordRef(String name, Digest digest) {
    }
}
