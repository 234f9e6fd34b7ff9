package dev.cloister.seal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

import java.util.TreeMap;

/**
 * Builds the SLSA v1 provenance statement of a sealed training job
 * (https://slsa.dev/spec/v1.0/provenance): subjects are the model's files and its OMS root digest.
 */
public final class Provenance {

    public static final String PREDICATE_TYPE = "https://slsa.dev/provenance/v1";
    public static final String BUILD_TYPE = "https://cloister.dev/training-job/v1";
    /** Name of the resolved dependency entries, so verifiers can find them without guessing. */
    public static final String IMAGE_URI_PREFIX = "docker-image://";
    public static final String DATASET_URI_PREFIX = "cloister-dataset:";
    public static final String POLICY_URI_PREFIX = "cloister-policy:";
    /** The signed provenance of a training image Cloister built: how the job's image was made. */
    public static final String IMAGE_PROVENANCE_URI_PREFIX = "cloister-image-provenance:";
    /** Annotations of the dataset dependency when its policy required a signature: the verified signer. */
    public static final String DATASET_SIGNER_ANNOTATION = "signerIdentity";
    public static final String DATASET_SIGNER_ISSUER_ANNOTATION = "signerIssuer";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Provenance() {
    }

    public static byte[] statement(ProvenanceFacts facts, ModelManifest manifest) {
        ObjectNode root = JSON.createObjectNode();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ArrayNode subjects = root.putArray("subject");
        subject(subjects, manifest.name(), manifest.rootDigest());
        manifest.resources().forEach(r -> subject(subjects, r.name(), r.digest()));
        root.put("predicateType", PREDICATE_TYPE);
        ObjectNode predicate = root.putObject("predicate");

        ObjectNode build = predicate.putObject("buildDefinition");
        build.put("buildType", BUILD_TYPE);
        ObjectNode external = build.putObject("externalParameters");
        try {
            external.set("jobSpec", JSON.readTree(facts.submittedSpec()));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("submitted spec is not JSON", e);
        }
        ObjectNode internal = build.putObject("internalParameters");
        ObjectNode policy = internal.putObject("policy");
        policy.put("name", facts.policyName());
        policy.put("digest", facts.policyDigest().toString());
        ObjectNode seccomp = internal.putObject("seccompProfile");
        seccomp.put("name", facts.seccompProfile());
        seccomp.put("digest", facts.seccompDigest().toString());
        internal.put("runtime", facts.runtime());
        internal.put("user", facts.user());
        internal.put("network", "none");
        internal.put("capabilities", "none");
        internal.put("readOnlyRootfs", true);
        internal.put("noNewPrivileges", true);
        internal.set("limits", JSON.valueToTree(new TreeMap<>(facts.limits())));

        ArrayNode deps = build.putArray("resolvedDependencies");
        ObjectNode image = dependency(deps, IMAGE_URI_PREFIX + facts.imageRepository(), facts.imageDigest());
        image.putObject("annotations").put("pinnedBy", facts.imagePinnedBy());
        if (facts.imageProvenanceDigest() != null) {
            // GET /api/v1/images/<image digest>/provenance serves the bundle whose SHA-256 this is.
            dependency(deps, IMAGE_PROVENANCE_URI_PREFIX + facts.imageRepository() + "@" + facts.imageDigest(),
                    facts.imageProvenanceDigest()).put("name", "image-provenance");
        }
        if (facts.dataset() != null) {
            ObjectNode dataset = dependency(deps, DATASET_URI_PREFIX + facts.dataset(), facts.datasetDigest());
            if (facts.datasetSigner() != null) {
                // Who signed the dataset, as verified at admission (Sigstore keyless: certificate SAN and issuer).
                ObjectNode annotations = dataset.putObject("annotations");
                annotations.put(DATASET_SIGNER_ANNOTATION, facts.datasetSigner());
                annotations.put(DATASET_SIGNER_ISSUER_ANNOTATION, facts.datasetSignerIssuer());
            }
        }
        dependency(deps, POLICY_URI_PREFIX + facts.policyName(), facts.policyDigest())
                .put("name", "policies/" + facts.policyName() + ".yaml");

        return finish(root, predicate, facts.builderId(), facts.jobId(), facts.startedOn(), facts.finishedOn());
    }

    /** Adds SLSA {@code runDetails} (builder id, invocation id, start and finish) and serialises the statement. */
    static byte[] finish(ObjectNode root, ObjectNode predicate, String builderId, String invocationId,
                         java.time.Instant startedOn, java.time.Instant finishedOn) {
        ObjectNode run = predicate.putObject("runDetails");
        run.putObject("builder").put("id", builderId);
        ObjectNode metadata = run.putObject("metadata");
        metadata.put("invocationId", invocationId);
        metadata.put("startedOn", startedOn.toString());
        metadata.put("finishedOn", finishedOn.toString());
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("provenance cannot be serialised", e);
        }
    }

    static void subject(ArrayNode subjects, String name, Digest digest) {
        ObjectNode s = subjects.addObject();
        s.put("name", name);
        s.putObject("digest").put("sha256", digest.hex());
    }

    static ObjectNode dependency(ArrayNode deps, String uri, Digest digest) {
        ObjectNode d = deps.addObject();
        d.put("uri", uri);
        d.putObject("digest").put("sha256", digest.hex());
        return d;
    }
}
