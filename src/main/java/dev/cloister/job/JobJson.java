package dev.cloister.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.cis.CisResult;
import dev.cloister.policy.ContainerPlan;

import java.util.List;

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

    private JobJson() {
    }

    static String plan(ContainerPlan plan) {
        return write(plan);
    }

    static ContainerPlan plan(String json) {
        return read(json, ContainerPlan.class);
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
