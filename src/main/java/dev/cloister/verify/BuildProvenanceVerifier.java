package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.build.BuildProvenance;
import dev.cloister.digest.Digest;
import dev.cloister.seal.Provenance;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Verifies the signed provenance of a training image Cloister built, offline with a pinned key: the bundle's
 * signature, that it is SLSA v1 of Cloister's training-image build type, and (when given) that it names the expected
 * image digest and the expected context digest. Returns only when everything holds.
 */
public final class BuildProvenanceVerifier {

    /** What a verified training-image provenance states. */
    public record VerifiedBuild(String image, Digest imageDigest, Digest contextDigest, Digest dockerfileDigest,
                                List<String> bases, Map<String, String> buildArgs, String policy, String policyDigest,
                                String buildId, String builderId) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ModelVerifier bundles;

    public BuildProvenanceVerifier(ModelVerifier bundles) {
        this.bundles = bundles;
    }

    public VerifiedBuild verify(byte[] bundle, String publicKeyPem, Optional<Digest> expectedImage,
                                Optional<Digest> expectedContext) throws VerificationException {
        JsonNode statement;
        try {
            statement = JSON.readTree(bundles.verifyStatementBundle(bundle, publicKeyPem, Provenance.PREDICATE_TYPE));
        } catch (IOException e) {
            throw new VerificationException("the build provenance statement is not JSON");
        }
        List<String> reasons = new ArrayList<>();
        JsonNode definition = statement.path("predicate").path("buildDefinition");
        if (!BuildProvenance.BUILD_TYPE.equals(definition.path("buildType").asText())) {
            reasons.add("build type is '" + definition.path("buildType").asText() + "', not "
                    + BuildProvenance.BUILD_TYPE);
        }
        JsonNode subjects = statement.path("subject");
        if (subjects.size() != 1) {
            throw new VerificationException("the build provenance must name exactly one image");
        }
        Digest image = digest(subjects.get(0), "subject", reasons);
        Digest context = null;
        Digest dockerfile = null;
        List<String> bases = new ArrayList<>();
        for (JsonNode d : definition.path("resolvedDependencies")) {
            String name = d.path("name").asText();
            switch (name) {
                case BuildProvenance.CONTEXT -> context = digest(d, "build context", reasons);
                case BuildProvenance.DOCKERFILE -> dockerfile = digest(d, "Dockerfile", reasons);
                case BuildProvenance.BASE -> {
                    Digest base = digest(d, "base image", reasons);
                    bases.add(d.path("uri").asText().replaceFirst("^" + Provenance.IMAGE_URI_PREFIX, "") + "@" + base);
                }
                default -> {
                }
            }
        }
        if (context == null) {
            reasons.add("the build provenance names no build context");
        }
        if (image != null) {
            Digest signed = image;
            expectedImage.filter(e -> !e.equals(signed)).ifPresent(e ->
                    reasons.add("the provenance is for image " + signed + ", not " + e));
        }
        if (context != null) {
            Digest signed = context;
            expectedContext.filter(e -> !e.equals(signed)).ifPresent(e ->
                    reasons.add("the provenance names build context " + signed + ", not this context " + e));
        }
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        Map<String, String> args = new LinkedHashMap<>();
        definition.path("externalParameters").path("buildArgs").fields()
                .forEachRemaining(e -> args.put(e.getKey(), e.getValue().asText()));
        JsonNode policy = definition.path("internalParameters").path("policy");
        JsonNode run = statement.path("predicate").path("runDetails");
        return new VerifiedBuild(subjects.get(0).path("name").asText(), image, context, dockerfile, bases, args,
                policy.path("name").asText(null), policy.path("digest").asText(null),
                run.path("metadata").path("invocationId").asText(null), run.path("builder").path("id").asText(null));
    }

    private static Digest digest(JsonNode node, String what, List<String> reasons) {
        try {
            return new Digest(node.path("digest").path("sha256").asText());
        } catch (IllegalArgumentException e) {
            reasons.add("the " + what + " has no SHA-256 digest");
            return null;
        }
    }
}
