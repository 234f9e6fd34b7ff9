package dev.cloister.audit;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One audit entry as stored: its fields, and the canonical text its {@code hash} is computed over (see the package
 * documentation). {@code details} is never modified after construction.
 */
record Entry(long seq, String time, String actor, String action, String subject, String outcome, ObjectNode details,
             String prevHash, String hash) {

    /** The {@code prevHash} of the first entry of a log. */
    static final String GENESIS = "0".repeat(64);

    /** The fields of a stored entry, in the canonical order; {@code hash} is the one not hashed. */
    static final List<String> FIELDS = List.of("seq", "time", "actor", "action", "subject", "outcome", "details",
            "prevHash", "hash");

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
    private static final Set<String> FIELD_SET = Set.copyOf(FIELDS);

    // Duplicate keys would let a reader and the hash see different values; trailing text would go unhashed.
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** The canonical text of every field but {@code hash}, in {@link #FIELDS} order. */
    String canonical() {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"seq\":").append(seq);
        member(out, "time", time);
        member(out, "actor", actor);
        member(out, "action", action);
        member(out, "subject", subject);
        member(out, "outcome", outcome);
        out.append(",\"details\":");
        CanonicalJson.write(details, out);
        member(out, "prevHash", prevHash);
        return out.append('}').toString();
    }

    /** Lowercase hex SHA-256 of the UTF-8 bytes of {@link #canonical()}. */
    String computedHash() {
        return Digest.of(canonical()).hex();
    }

    /** The stored line (without its newline): the canonical text with {@code hash} appended as the last member. */
    String line() {
        String canonical = canonical();
        StringBuilder out = new StringBuilder(canonical.length() + 80).append(canonical, 0, canonical.length() - 1);
        member(out, "hash", hash);
        return out.append('}').toString();
    }

    boolean isCheckpoint() {
        return Checkpoint.ACTION.equals(action);
    }

    Instant instant() {
        return Instant.parse(time);
    }

    private static void member(StringBuilder out, String name, String value) {
        out.append(",\"").append(name).append("\":");
        CanonicalJson.string(value, out);
    }

    /**
     * Reads one stored line strictly: a JSON object with exactly the nine fields, each of its type, {@code time} an
     * ISO-8601 instant, hashes 64 lowercase hex digits, {@code details} canonicalisable. It does not check the hash.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static Entry parse(String line) {
        JsonNode node;
        try {
            node = STRICT.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        List<String> problems = new ArrayList<>();
        node.fieldNames().forEachRemaining(name -> {
            if (!FIELD_SET.contains(name)) {
                problems.add("unexpected field '" + name + "'");
            }
        });
        for (String name : FIELDS) {
            if (!node.has(name)) {
                problems.add("no field '" + name + "'");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", problems));
        }
        JsonNode seq = node.get("seq");
        if (!seq.isIntegralNumber() || !seq.canConvertToLong() || seq.longValue() < 1) {
            throw new IllegalArgumentException("seq is not a positive integer");
        }
        JsonNode details = node.get("details");
        if (!details.isObject()) {
            throw new IllegalArgumentException("details is not an object");
        }
        Entry entry = new Entry(seq.longValue(), text(node, "time"), text(node, "actor"), text(node, "action"),
                text(node, "subject"), text(node, "outcome"), (ObjectNode) details, hex(node, "prevHash"),
                hex(node, "hash"));
        try {
            entry.instant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("time is not an ISO-8601 instant");
        }
        try {
            CanonicalJson.write(details, new StringBuilder());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("details " + e.getMessage());
        }
        return entry;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (!value.isTextual()) {
            throw new IllegalArgumentException(field + " is not a string");
        }
        return value.textValue();
    }

    private static String hex(JsonNode node, String field) {
        String value = text(node, field);
        if (!HEX.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " is not 64 lowercase hex digits");
        }
        return value;
    }
}
