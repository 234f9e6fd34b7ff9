package dev.cloister.policy;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Strict reader over a parsed JSON/YAML object: records a violation for every wrong type, bad value and unknown key
 * instead of stopping at the first, so that users see every problem of a file or request at once.
 */
public final class Fields {

    private final JsonNode node;
    private final String path;
    private final List<Violation> violations;
    private final Set<String> known = new LinkedHashSet<>();

    private Fields(JsonNode node, String path, List<Violation> violations) {
        this.node = node;
        this.path = path;
        this.violations = violations;
    }

    /** Reads {@code node} as the top-level object; a non-object records a violation and reads as empty. */
    public static Fields root(JsonNode node, List<Violation> violations) {
        if (node == null || !node.isObject()) {
            violations.add(new Violation("(document)", "must be an object of fields"));
            return new Fields(null, "", violations);
        }
        return new Fields(node, "", violations);
    }

    public String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public void violation(String key, String reason) {
        violations.add(new Violation(pathOf(key), reason));
    }

    public boolean has(String key) {
        known.add(key);
        return node != null && node.has(key) && !node.get(key).isNull();
    }

    private JsonNode get(String key) {
        return has(key) ? node.get(key) : null;
    }

    public Optional<String> text(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            violation(key, "must be a string");
            return Optional.empty();
        }
        return Optional.of(v.asText());
    }

    /** A scalar written either as a string or a number (sizes like {@code 512m} or {@code 1048576}). */
    public Optional<String> scalar(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isTextual() && !v.isNumber()) {
            violation(key, "must be a string or a number");
            return Optional.empty();
        }
        return Optional.of(v.asText());
    }

    public <T> Optional<T> parsed(String key, Function<String, T> parser) {
        Optional<String> raw = scalar(key);
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(parser.apply(raw.get()));
        } catch (IllegalArgumentException e) {
            violation(key, e.getMessage());
            return Optional.empty();
        }
    }

    public Optional<Boolean> bool(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            violation(key, "must be true or false");
            return Optional.empty();
        }
        return Optional.of(v.booleanValue());
    }

    public Optional<Long> integer(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            violation(key, "must be a whole number");
            return Optional.empty();
        }
        return Optional.of(v.longValue());
    }

    public Optional<Double> number(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            violation(key, "must be a number");
            return Optional.empty();
        }
        return Optional.of(v.doubleValue());
    }

    public Optional<List<String>> texts(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isArray()) {
            violation(key, "must be a list of strings");
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isTextual()) {
                violations.add(new Violation(pathOf(key) + "[" + i + "]", "must be a string"));
            } else {
                out.add(e.asText());
            }
        }
        return Optional.of(List.copyOf(out));
    }

    /** An object whose values are scalars; each value is returned as the JSON node so callers keep its type. */
    public Optional<Map<String, JsonNode>> scalarMap(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            violation(key, "must be an object");
            return Optional.empty();
        }
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isContainerNode() || e.getValue().isNull()) {
                violations.add(new Violation(pathOf(key) + "." + e.getKey(), "must be a string, number or boolean"));
            } else {
                out.put(e.getKey(), e.getValue());
            }
        }
        return Optional.of(out);
    }

    /** A nested object; a missing one reads as empty, so its fields fall back to their (safe) defaults. */
    public Fields object(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return new Fields(null, pathOf(key), violations);
        }
        if (!v.isObject()) {
            violation(key, "must be an object");
            return new Fields(null, pathOf(key), violations);
        }
        return new Fields(v, pathOf(key), violations);
    }

    /**
     * Records every key that no reader asked for. {@code reasons} gives a specific reason for keys that are known
     * requests Cloister refuses (host access, privileges), so users learn why rather than just "unknown".
     */
    public void rejectUnknown(Map<String, String> reasons) {
        if (node == null) {
            return;
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key)) {
                violation(key, reasons.getOrDefault(key, "unknown field"));
            }
        }
    }

    public void rejectUnknown() {
        rejectUnknown(Map.of());
    }
}
