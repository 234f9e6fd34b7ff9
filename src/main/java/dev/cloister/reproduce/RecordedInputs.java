package dev.cloister.reproduce;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;
import dev.cloister.seal.Provenance;

/**
 * What a sealed job's signed SLSA provenance records it ran with: the submitted spec (image, command, env,
 * hyperparameters, seed, resources), the policy and its digest, the image and the dataset by digest.
 */
record RecordedInputs(String spec, String policy, Digest policyDigest, ImageRef image, String dataset,
                      Digest datasetDigest) {

    /** Reads the provenance statement; a field missing is an error, never a default. */
    static RecordedInputs from(JsonNode statement) {
        JsonNode build = statement.path("predicate").path("buildDefinition");
        JsonNode spec = build.path("externalParameters").path("jobSpec");
        if (!spec.isObject()) {
            throw new IllegalArgumentException("the provenance records no job spec");
        }
        JsonNode policy = build.path("internalParameters").path("policy");
        ImageRef image = null;
        String dataset = null;
        Digest datasetDigest = null;
        for (JsonNode d : build.path("resolvedDependencies")) {
            String uri = d.path("uri").asText();
            Digest digest = new Digest(d.path("digest").path("sha256").asText());
            if (uri.startsWith(Provenance.IMAGE_URI_PREFIX)) {
                image = new ImageRef(uri.substring(Provenance.IMAGE_URI_PREFIX.length()), digest);
            } else if (uri.startsWith(Provenance.DATASET_URI_PREFIX)) {
                dataset = uri.substring(Provenance.DATASET_URI_PREFIX.length());
                datasetDigest = digest;
            }
        }
        if (image == null) {
            throw new IllegalArgumentException("the provenance records no training image");
        }
        return new RecordedInputs(spec.toString(), policy.path("name").asText(),
                Digest.parse(policy.path("digest").asText()), image, dataset, datasetDigest);
    }
}
