package dev.cloister.verify;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.digest.Digest;
import dev.cloister.seal.OmsStatement;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a verified in-toto statement and checks its shape; for an OMS v1.0 statement it yields the signed model
 * claims. Duplicate JSON keys are rejected, so no two readers can see different statements in the same bytes.
 */
final class SignedStatement {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    /** One signed file. */
    record Claim(String name, Digest digest) {
    }

    /** What an OMS statement claims about a model. */
    record ModelClaims(String subjectName, Digest subjectDigest, List<Claim> resources) {
    }

    private SignedStatement() {
    }

    /** Parses the statement and checks {@code _type} and {@code predicateType}, adding problems to reasons. */
    static JsonNode read(byte[] payload, String expectedPredicateType, List<String> reasons)
            throws VerificationException {
        JsonNode statement;
        try {
            statement = JSON.readTree(payload);
        } catch (JsonProcessingException e) {
            throw new VerificationException("the signed payload is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new VerificationException("the signed payload cannot be read: " + e.getMessage(), e);
        }
        if (statement == null || !statement.isObject()) {
            throw new VerificationException("the signed payload is not a JSON object");
        }
        String type = statement.path("_type").asText("");
        if (!OmsStatement.STATEMENT_TYPE.equals(type)) {
            reasons.add("statement _type '" + type + "' is not " + OmsStatement.STATEMENT_TYPE);
        }
        String predicateType = statement.path("predicateType").asText("");
        if (OmsStatement.OLD_PREDICATE_TYPE.equals(predicateType)) {
            reasons.add("predicate type " + predicateType + " is the pre-1.0 model signing format, which is not "
                    + "accepted; expected " + expectedPredicateType);
        } else if (!expectedPredicateType.equals(predicateType)) {
            reasons.add("predicate type '" + predicateType + "' is not " + expectedPredicateType);
        }
        return statement;
    }

    /** The OMS v1.0 claims: one subject, the {@code files} serialization with SHA-256, unique resource names. */
    static ModelClaims modelClaims(JsonNode statement, List<String> reasons) {
        JsonNode subjects = statement.path("subject");
        String subjectName = "";
        Digest subjectDigest = null;
        if (!subjects.isArray() || subjects.size() != 1) {
            reasons.add("the statement has " + (subjects.isArray() ? subjects.size() : 0)
                    + " subjects, expected exactly one");
        } else {
            subjectName = subjects.get(0).path("name").asText("");
            subjectDigest = digest(subjects.get(0).path("digest").path("sha256"), "subject digest", reasons);
        }
        JsonNode predicate = statement.path("predicate");
        JsonNode serialization = predicate.path("serialization");
        String method = serialization.path("method").asText("");
        if (!"files".equals(method)) {
            reasons.add("serialization method '" + method + "' is not supported: only 'files' is");
        }
        String hashType = serialization.path("hash_type").asText("");
        if (!"sha256".equals(hashType)) {
            reasons.add("serialization hash type '" + hashType + "' is not supported: only 'sha256' is");
        }
        List<Claim> claims = new ArrayList<>();
        JsonNode resources = predicate.path("resources");
        if (!resources.isArray()) {
            reasons.add("the predicate has no resources list");
            return new ModelClaims(subjectName, subjectDigest, claims);
        }
        Set<String> names = new HashSet<>();
        for (JsonNode resource : resources) {
            String name = resource.path("name").asText("");
            if (name.isEmpty() || name.startsWith("/") || List.of(name.split("/", -1)).stream()
                    .anyMatch(part -> part.isEmpty() || part.equals(".") || part.equals(".."))) {
                reasons.add("signed resource name '" + name + "' is not a relative path inside the model");
                continue;
            }
            if (!names.add(name)) {
                reasons.add("signed resource '" + name + "' is listed twice");
                continue;
            }
            String algorithm = resource.path("algorithm").asText("");
            if (!"sha256".equals(algorithm)) {
                reasons.add("signed resource '" + name + "' uses algorithm '" + algorithm + "', not sha256");
                continue;
            }
            Digest digest = digest(resource.path("digest"), "digest of signed resource '" + name + "'", reasons);
            if (digest != null) {
                claims.add(new Claim(name, digest));
            }
        }
        return new ModelClaims(subjectName, subjectDigest, claims);
    }

    private static Digest digest(JsonNode node, String what, List<String> reasons) {
        String hex = node.asText("");
        if (!node.isTextual() || !HEX.matcher(hex).matches()) {
            reasons.add(what + " is not a lowercase hex SHA-256");
            return null;
        }
        return new Digest(hex);
    }
}
