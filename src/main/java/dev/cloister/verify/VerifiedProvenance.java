package dev.cloister.verify;

import java.time.Instant;

/** What a verified SLSA provenance says about how a model was trained. */
public record VerifiedProvenance(String jobId, String builderId, String policy, String policyDigest, String runtime,
                                 String image, String imageDigest, String dataset, String datasetDigest,
                                 Instant startedOn, Instant finishedOn, int subjects) {
}
