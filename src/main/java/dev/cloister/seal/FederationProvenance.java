package dev.cloister.seal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

/**
 * The SLSA v1 provenance of a federated model (https://slsa.dev/spec/v1.0/provenance): the same statement shape as
 * a job's ({@link Provenance}), with a federation build type, every site's policy and dataset, and the signed round
 * records as resolved dependencies, in order, so that a verifier can tie the model to its chain of rounds.
 */
public final class FederationProvenance {

    public static final String BUILD_TYPE = "https://cloister.dev/federation/v1";
    /** URI prefix of a round record dependency: {@code cloister-federation-round:<federation id>/<file name>}. */
    public static final String ROUND_URI_PREFIX = "cloister-federation-round:";
    /** URI prefix of the first global weights (zeros of the model's shapes). */
    public static final String INITIAL_URI_PREFIX = "cloister-federation-initial:";

    private static final ObjectMapper JSON = new ObjectMapper();

    private FederationProvenance() {
    }

    public static byte[] statement(FederationFacts facts, ModelManifest manifest) {
        ObjectNode root = JSON.createObjectNode();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ArrayNode subjects = root.putArray("subject");
        Provenance.subject(subjects, manifest.name(), manifest.rootDigest());
        manifest.resources().forEach(r -> Provenance.subject(subjects, r.name(), r.digest()));
        root.put("predicateType", Provenance.PREDICATE_TYPE);
        ObjectNode predicate = root.putObject("predicate");
        ObjectNode build = predicate.putObject("buildDefinition");
        build.put("buildType", BUILD_TYPE);
        ObjectNode external = build.putObject("externalParameters");
        try {
            external.set("federationSpec", JSON.readTree(facts.spec()));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("federation spec is not JSON", e);
        }
        ObjectNode internal = build.putObject("internalParameters");
        internal.put("aggregation", facts.aggregation());
        // One policy for every site (the usual case): named where a job's provenance names it, so release
        // claims (--policy) and readers of job provenance see it too. Every site's policy is listed below anyway.
        if (facts.sites().stream().map(FederationFacts.SiteFacts::policyDigest).distinct().count() == 1) {
            FederationFacts.SiteFacts first = facts.sites().get(0);
            internal.putObject("policy").put("name", first.policy()).put("digest", first.policyDigest().toString());
            internal.put("runtime", first.runtime());
        }
        internal.put("network", "none");
        internal.put("capabilities", "none");
        internal.put("readOnlyRootfs", true);
        internal.put("noNewPrivileges", true);
        ArrayNode sites = internal.putArray("sites");
        for (FederationFacts.SiteFacts s : facts.sites()) {
            ObjectNode n = sites.addObject();
            n.put("site", s.site());
            n.put("team", s.team());
            n.put("dataset", s.dataset());
            n.putObject("policy").put("name", s.policy()).put("digest", s.policyDigest().toString());
            n.putObject("seccompProfile").put("name", s.seccompProfile()).put("digest", s.seccompDigest().toString());
            n.put("runtime", s.runtime());
        }
        ArrayNode deps = build.putArray("resolvedDependencies");
        Provenance.dependency(deps, Provenance.IMAGE_URI_PREFIX + facts.imageRepository(), facts.imageDigest())
                .putObject("annotations").put("pinnedBy", facts.imagePinnedBy());
        for (FederationFacts.SiteFacts s : facts.sites()) {
            Provenance.dependency(deps, Provenance.DATASET_URI_PREFIX + s.dataset(), s.datasetDigest())
                    .putObject("annotations").put("site", s.site());
        }
        java.util.Map<String, Digest> policies = new java.util.LinkedHashMap<>();
        facts.sites().forEach(s -> policies.putIfAbsent(s.policy(), s.policyDigest()));
        policies.forEach((name, digest) -> Provenance.dependency(deps, Provenance.POLICY_URI_PREFIX + name, digest)
                .put("name", "policies/" + name + ".yaml"));
        Provenance.dependency(deps, INITIAL_URI_PREFIX + facts.federationId(), facts.initialGlobal());
        for (FederationFacts.RecordRef r : facts.roundRecords()) {
            Provenance.dependency(deps, ROUND_URI_PREFIX + facts.federationId() + "/" + r.name(), r.digest());
        }
        return Provenance.finish(root, predicate, facts.builderId(), facts.federationId(), facts.startedOn(),
                facts.finishedOn());
    }
}
