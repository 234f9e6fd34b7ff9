package dev.cloister.seal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;

/**
 * The in-toto statement that OMS v1.0 signs for a model: one subject (the model name and its root digest) and the
 * {@code https://model_signing/signature/v1.0} predicate listing every file and how the directory was serialized.
 */
public final class OmsStatement {

    /** in-toto Statement v1. */
    public static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

    /** OMS v1.0 predicate type. */
    public static final String PREDICATE_TYPE = "https://model_signing/signature/v1.0";

    /** The pre-1.0 predicate type, which Cloister neither writes nor accepts. */
    public static final String OLD_PREDICATE_TYPE = "https://model_signing/Digests/v0.1";

    private static final ObjectMapper JSON = new ObjectMapper();

    private OmsStatement() {
    }

    /** The statement's JSON bytes (UTF-8, compact), ready to be signed. */
    public static byte[] toJson(ModelManifest manifest) {
        ObjectNode statement = JSON.createObjectNode();
        statement.put("_type", STATEMENT_TYPE);
        ObjectNode subject = statement.putArray("subject").addObject();
        subject.put("name", manifest.name());
        subject.putObject("digest").put("sha256", manifest.rootDigest().hex());
        statement.put("predicateType", PREDICATE_TYPE);
        ObjectNode predicate = statement.putObject("predicate");
        ArrayNode resources = predicate.putArray("resources");
        for (ModelManifest.Resource resource : manifest.resources()) {
            resources.addObject()
                    .put("name", resource.name())
                    .put("algorithm", "sha256")
                    .put("digest", resource.digest().hex());
        }
        ObjectNode serialization = predicate.putObject("serialization");
        serialization.put("method", "files");
        serialization.put("hash_type", "sha256");
        serialization.put("allow_symlinks", false);
        ArrayNode ignore = serialization.putArray("ignore_paths");
        manifest.ignorePaths().forEach(ignore::add);
        try {
            return JSON.writeValueAsString(statement).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON tree", e);
        }
    }
}
