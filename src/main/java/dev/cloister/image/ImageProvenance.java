package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.job.ModelOrigin;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.OmsStatement;
import dev.cloister.seal.Provenance;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The SLSA v1 provenance of a serving image (https://slsa.dev/spec/v1.0/provenance), attested in cosign's
 * {@code .att} tag: the subject is the image (repository name and manifest digest); the resolved dependencies are
 * the base image, the sealed model's OMS root digest, the model's own training provenance, the training data set and
 * the serving code, each found again by its {@code name}. The model's origin (a job, or a federation whose training
 * provenance lists its signed round records) is the invocation id, and {@code externalParameters} names it as
 * {@code jobId} or {@code federationId}. A federation's model has one {@code dataset} dependency per site.
 */
final class ImageProvenance {

    static final String BUILD_TYPE = "https://cloister.dev/serving-image/v1";
    static final String BASE = "base-image";
    static final String MODEL = "model";
    static final String TRAINING_PROVENANCE = "training-provenance";
    static final String DATASET = "dataset";
    static final String SERVING_CODE = "serving-code";

    /** What a verified image attestation states. */
    record Claims(String subjectName, Digest subjectDigest, ModelOrigin origin, String builderId,
                  String trainingPolicy, ImageReference base, Digest model, Digest trainingProvenance,
                  List<Digest> datasets, Instant builtOn) {
        Claims {
            datasets = List.copyOf(datasets);
        }
    }

    private ImageProvenance() {
    }

    static byte[] statement(ServingImage image, String builderId) {
        ObjectNode root = Json.object();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ObjectNode subject = root.putArray("subject").addObject();
        subject.put("name", image.image().name());
        subject.putObject("digest").put("sha256", image.digest().hex());
        root.put("predicateType", Provenance.PREDICATE_TYPE);
        ObjectNode predicate = root.putObject("predicate");

        ObjectNode build = predicate.putObject("buildDefinition");
        build.put("buildType", BUILD_TYPE);
        ObjectNode external = build.putObject("externalParameters");
        ModelOrigin origin = image.model().origin();
        external.put(origin.kind() == ModelOrigin.Kind.JOB ? "jobId" : "federationId", origin.id());
        external.put("target", image.image().name() + ":" + image.image().tag().orElse(""));
        external.put("baseImage", image.base().toString());
        ObjectNode internal = build.putObject("internalParameters");
        internal.put("trainingPolicy", image.model().policy());
        internal.put("created", image.model().created().toString());
        ArrayNode entrypoint = internal.putArray("entrypoint");
        ServingLayers.ENTRYPOINT.forEach(entrypoint::add);
        internal.put("user", ServingLayers.USER);
        internal.putArray("exposedPorts").add(ServingLayers.PORT + "/tcp");
        internal.put("modelPath", ServingLayers.MODEL_PATH.toString());
        internal.put("servingCodePath", ServingLayers.SERVING_PATH.toString());

        ArrayNode deps = build.putArray("resolvedDependencies");
        dependency(deps, BASE, Provenance.IMAGE_URI_PREFIX + image.base().name(), image.base().digest().orElseThrow());
        dependency(deps, MODEL, "cloister-model:" + origin.id(), image.model().modelDigest());
        dependency(deps, TRAINING_PROVENANCE, "cloister-provenance:" + origin.id() + "/"
                + JobSealer.PROVENANCE_FILE, image.trainingProvenance());
        image.datasets().forEach(d -> dependency(deps, DATASET, Provenance.DATASET_URI_PREFIX + d.name(), d.digest()));
        dependency(deps, SERVING_CODE, "cloister-serving-code:" + ServingLayers.SERVING_PATH, image.servingCode());

        ObjectNode run = predicate.putObject("runDetails");
        run.putObject("builder").put("id", builderId);
        ObjectNode metadata = run.putObject("metadata");
        metadata.put("invocationId", origin.id());
        metadata.put("startedOn", image.startedOn().toString());
        metadata.put("finishedOn", image.finishedOn().toString());
        return Json.bytes(root);
    }

    private static void dependency(ArrayNode deps, String name, String uri, Digest digest) {
        ObjectNode d = deps.addObject();
        d.put("name", name);
        d.put("uri", uri);
        d.putObject("digest").put("sha256", digest.hex());
    }

    /**
     * Reads the claims of a statement whose signature has been verified; every missing or malformed field is a
     * problem, since a deployer's decision rests on them.
     */
    static Claims claims(JsonNode statement, List<String> problems) {
        if (!OmsStatement.STATEMENT_TYPE.equals(statement.path("_type").asText())) {
            problems.add("its statement _type is not " + OmsStatement.STATEMENT_TYPE);
        }
        if (!Provenance.PREDICATE_TYPE.equals(statement.path("predicateType").asText())) {
            problems.add("its predicate type is not " + Provenance.PREDICATE_TYPE);
        }
        JsonNode subjects = statement.path("subject");
        String subjectName = "";
        Digest subjectDigest = null;
        if (subjects.size() != 1) {
            problems.add("it has " + subjects.size() + " subjects, expected the one image");
        } else {
            subjectName = subjects.get(0).path("name").asText("");
            subjectDigest = digest(subjects.get(0).path("digest").path("sha256"), "subject digest", problems);
        }
        JsonNode predicate = statement.path("predicate");
        JsonNode build = predicate.path("buildDefinition");
        if (!BUILD_TYPE.equals(build.path("buildType").asText())) {
            problems.add("its build type is not " + BUILD_TYPE);
        }
        ImageReference base = null;
        Digest model = null;
        Digest training = null;
        List<Digest> datasets = new ArrayList<>();
        for (JsonNode dep : build.path("resolvedDependencies")) {
            String name = dep.path("name").asText("");
            JsonNode sha = dep.path("digest").path("sha256");
            switch (name) {
                case BASE -> {
                    Digest d = digest(sha, "base image digest", problems);
                    String uri = dep.path("uri").asText("");
                    try {
                        base = d == null ? null : ImageReference.parse(
                                uri.substring(Provenance.IMAGE_URI_PREFIX.length()) + "@" + d);
                    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                        problems.add("its base image URI '" + uri + "' is malformed");
                    }
                }
                case MODEL -> model = digest(sha, "model digest", problems);
                case TRAINING_PROVENANCE -> training = digest(sha, "training provenance digest", problems);
                case DATASET -> Optional.ofNullable(digest(sha, "dataset digest", problems)).ifPresent(datasets::add);
                default -> {
                }
            }
        }
        if (base == null || model == null || training == null) {
            problems.add("it does not name the base image, the model and the training provenance");
        }
        JsonNode metadata = predicate.path("runDetails").path("metadata");
        Instant builtOn = null;
        try {
            builtOn = Instant.parse(metadata.path("finishedOn").asText(""));
        } catch (DateTimeParseException e) {
            problems.add("its build time (runDetails.metadata.finishedOn) is missing or malformed");
        }
        String policy = build.path("internalParameters").path("trainingPolicy").asText("");
        if (policy.isEmpty()) {
            problems.add("it does not name the training policy");
        }
        ModelOrigin origin = null;
        try {
            origin = new ModelOrigin(metadata.path("invocationId").asText(""));
        } catch (IllegalArgumentException e) {
            problems.add("its invocation id (runDetails.metadata.invocationId) is not a job or federation id");
        }
        return new Claims(subjectName, subjectDigest, origin,
                predicate.path("runDetails").path("builder").path("id").asText(""), policy, base, model, training,
                datasets, builtOn);
    }

    private static Digest digest(JsonNode node, String what, List<String> problems) {
        try {
            return new Digest(node.asText(""));
        } catch (IllegalArgumentException e) {
            problems.add("its " + what + " is not a lowercase hex SHA-256");
            return null;
        }
    }
}
