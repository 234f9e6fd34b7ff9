package dev.cloister.build;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.seal.OmsStatement;
import dev.cloister.seal.Provenance;

import java.util.TreeMap;

/**
 * The SLSA v1 provenance of a training image (https://slsa.dev/spec/v1.0/provenance): the subject is the pushed
 * image (repository name, manifest digest); the resolved dependencies are the build context (its canonical digest,
 * see {@link BuildContext}), the Dockerfile, each base image by registry digest and the policy; the external
 * parameters are the request (repository, tag, policy, build args). Every field comes from the control plane.
 */
public final class BuildProvenance {

    public static final String BUILD_TYPE = "https://cloister.dev/training-image/v1";
    public static final String CONTEXT = "build-context";
    public static final String DOCKERFILE = "dockerfile";
    public static final String BASE = "base-image";
    public static final String POLICY = "policy";
    public static final String CONTEXT_URI = "cloister-build-context:";

    private static final ObjectMapper JSON = new ObjectMapper();

    private BuildProvenance() {
    }

    static byte[] statement(BuildRecord r, String engineVersion) {
        ObjectNode root = JSON.createObjectNode();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ObjectNode subject = root.putArray("subject").addObject();
        subject.put("name", r.image().substring(0, r.image().indexOf('@')));
        subject.putObject("digest").put("sha256", Digest.parse(r.manifestDigest()).hex());
        root.put("predicateType", Provenance.PREDICATE_TYPE);
        ObjectNode predicate = root.putObject("predicate");

        ObjectNode build = predicate.putObject("buildDefinition");
        build.put("buildType", BUILD_TYPE);
        ObjectNode external = build.putObject("externalParameters");
        external.put("repository", r.repository());
        external.put("tag", r.tag());
        external.put("policy", r.policy());
        external.put("dockerfile", BuildContext.DOCKERFILE);
        external.set("buildArgs", JSON.valueToTree(new TreeMap<>(r.buildArgs())));
        ObjectNode internal = build.putObject("internalParameters");
        internal.put("builder", "docker classic builder");
        internal.put("engineVersion", engineVersion);
        internal.put("network", "none");
        internal.put("pull", false);
        internal.put("noCache", true);
        internal.putObject("policy").put("name", r.policy()).put("digest", r.policyDigest());

        ArrayNode deps = build.putArray("resolvedDependencies");
        dependency(deps, CONTEXT, CONTEXT_URI, r.contextDigest());
        dependency(deps, DOCKERFILE, CONTEXT_URI + BuildContext.DOCKERFILE, r.dockerfileDigest());
        for (String base : r.bases()) {
            int at = base.indexOf('@');
            dependency(deps, BASE, Provenance.IMAGE_URI_PREFIX + base.substring(0, at), base.substring(at + 1));
        }
        dependency(deps, POLICY, Provenance.POLICY_URI_PREFIX + r.policy(), r.policyDigest());

        ObjectNode run = predicate.putObject("runDetails");
        run.putObject("builder").put("id", r.builderId());
        ObjectNode metadata = run.putObject("metadata");
        metadata.put("invocationId", r.id());
        metadata.put("startedOn", r.startedOn().toString());
        metadata.put("finishedOn", r.finishedOn().toString());
        ObjectNode byproduct = run.putArray("byproducts").addObject();
        byproduct.put("name", "image-id");
        byproduct.putObject("digest").put("sha256", Digest.parse(r.imageId()).hex());
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("build provenance cannot be serialised", e);
        }
    }

    private static void dependency(ArrayNode deps, String name, String uri, String digest) {
        ObjectNode d = deps.addObject();
        d.put("name", name);
        d.put("uri", uri);
        d.putObject("digest").put("sha256", Digest.parse(digest).hex());
    }
}
