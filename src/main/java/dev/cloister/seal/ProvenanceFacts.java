package dev.cloister.seal;

import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.Map;

/**
 * What the control plane knows about a finished job, for its SLSA provenance. Nothing here comes from the job's own
 * output: the only thing read from the output directory is the file digests, taken by the sealer itself.
 *
 * @param submittedSpec the spec exactly as submitted, as JSON text (becomes {@code externalParameters.jobSpec})
 * @param limits        the granted resources and runtime limits, already formatted for reading
 * @param imagePinnedBy {@code IMAGE_ID} (local config digest) or {@code MANIFEST_DIGEST} (registry digest)
 * @param datasetSigner the dataset's signer identity (certificate SAN) as admission verified it under the job's
 *                      policy, or null when the policy required no dataset signature
 * @param datasetSignerIssuer the OIDC issuer of that signer's certificate, or null likewise
 * @param imageProvenanceDigest SHA-256 of the signed provenance of the training image when Cloister built it
 *                              (POST /api/v1/images), or null
 */
public record ProvenanceFacts(
        String jobId,
        String builderId,
        String submittedSpec,
        String policyName,
        Digest policyDigest,
        String seccompProfile,
        Digest seccompDigest,
        String runtime,
        String user,
        Map<String, Object> limits,
        String imageRepository,
        Digest imageDigest,
        String imagePinnedBy,
        String dataset,
        Digest datasetDigest,
        String datasetSigner,
        String datasetSignerIssuer,
        Instant submittedOn,
        Instant startedOn,
        Instant finishedOn,
        Digest imageProvenanceDigest) {

    public ProvenanceFacts {
        limits = Map.copyOf(limits);
    }

    /** Facts of a job whose image Cloister did not build. */
    public ProvenanceFacts(String jobId, String builderId, String submittedSpec, String policyName, Digest policyDigest,
                           String seccompProfile, Digest seccompDigest, String runtime, String user,
                           Map<String, Object> limits, String imageRepository, Digest imageDigest, String imagePinnedBy,
                           String dataset, Digest datasetDigest, String datasetSigner, String datasetSignerIssuer,
                           Instant submittedOn, Instant startedOn, Instant finishedOn) {
        this(jobId, builderId, submittedSpec, policyName, policyDigest, seccompProfile, seccompDigest, runtime, user,
                limits, imageRepository, imageDigest, imagePinnedBy, dataset, datasetDigest, datasetSigner,
                datasetSignerIssuer, submittedOn, startedOn, finishedOn, null);
    }
}
