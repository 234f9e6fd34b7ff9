package dev.cloister.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.cis.CisResult;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ContainerPlan;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The JSON columns of a job: its plan (so that a restarted service runs or settles exactly what admission decided,
 * whatever the policy files say by then), its CIS results and its output names.
 */
final class JobJson {

    // Records map by their components; the plan's constants (readOnlyRootfs(), ...) are not components and not written.
    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final TypeReference<List<CisResult>> CIS = new TypeReference<>() { };
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() { };
    private static final String SECCOMP = "seccomp";
    private static final String PROFILE_TEXT = "json";

    private JobJson() {
    }

    /** The plan without its seccomp profile's text (stored once per digest), which {@link #plan(String, Function)} puts back. */
    static String plan(ContainerPlan plan) {
        ObjectNode tree = JSON.valueToTree(plan);
        ((ObjectNode) tree.get(SECCOMP)).remove(PROFILE_TEXT);
        return tree.toString();
    }

    /**
     * The stored plan, with its seccomp profile's text from {@code profileText} (by digest) unless the plan carries
     * it inline (plans stored before profiles had their own table). The text must have the digest the plan names.
     */
    static ContainerPlan plan(String json, Function<Digest, Optional<String>> profileText) {
        try {
            ObjectNode tree = (ObjectNode) JSON.readTree(json);
            ObjectNode seccomp = (ObjectNode) tree.get(SECCOMP);
            if (!seccomp.has(PROFILE_TEXT)) {
                Digest digest = JSON.treeToValue(seccomp.get("digest"), Digest.class);
                String text = profileText.apply(digest).orElseThrow(() -> new IllegalStateException(
                        "the stored plan's seccomp profile " + digest + " is not in the database"));
                Digest actual = Digest.of(text);
                if (!actual.equals(digest)) {
                    throw new IllegalStateException("the stored seccomp profile " + digest + " has digest " + actual);
                }
                seccomp.put(PROFILE_TEXT, text);
            }
            return JSON.treeToValue(tree, ContainerPlan.class);
        } catch (JsonProcessingException | IllegalArgumentException | ClassCastException | NullPointerException e) {
            throw new IllegalStateException("stored ContainerPlan is not readable: " + e.getMessage(), e);
        }
    }

    static String cis(List<CisResult> cis) {
        return write(cis);
    }

    static List<CisResult> cis(String json) {
        try {
            return JSON.readValue(json, CIS);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored CIS results are not readable: " + e.getOriginalMessage(), e);
        }
    }

    static String strings(List<String> values) {
        return write(values);
    }

    static List<String> strings(String json) {
        try {
            return JSON.readValue(json, STRINGS);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored list is not readable: " + e.getOriginalMessage(), e);
        }
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored " + type.getSimpleName() + " is not readable: "
                    + e.getOriginalMessage(), e);
        }
    }
}
