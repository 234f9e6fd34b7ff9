package dev.cloister.keys;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The key directory's index, {@code keys.json}: every key with its id, creation time, whether it is active and its
 * file names. Holds no key material.
 */
final class KeyIndex {

    static final String FILE_NAME = "keys.json";
    private static final int VERSION = 1;
    private static final Pattern FILE_NAME_PATTERN = Pattern.compile("[0-9a-f]{64}\\.(pub|key)\\.pem");
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private KeyIndex() {
    }

    static byte[] write(List<KeyInfo> keys) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", VERSION);
        ArrayNode array = root.putArray("keys");
        for (KeyInfo key : keys) {
            ObjectNode node = array.addObject();
            node.put("id", key.id().hex());
            node.put("created", key.created().toString());
            node.put("active", key.active());
            node.put("publicKey", key.publicKeyFile());
            if (key.privateKeyFile().isPresent()) {
                node.put("privateKey", key.privateKeyFile().get());
            } else {
                node.putNull("privateKey");
            }
        }
        try {
            return (JSON.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a JSON tree", e);
        }
    }

    /** Parses and checks an index: valid ids and file names, exactly one active key, which has a private key. */
    static List<KeyInfo> read(byte[] json) throws KeyException {
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || root.path("version").asInt(-1) != VERSION || !root.path("keys").isArray()) {
                throw new KeyException("key index " + FILE_NAME + " is not a version " + VERSION + " index");
            }
            List<KeyInfo> keys = new ArrayList<>();
            for (JsonNode node : root.get("keys")) {
                JsonNode privateKey = node.path("privateKey");
                keys.add(new KeyInfo(
                        KeyId.parse(node.path("id").asText()),
                        Instant.parse(node.path("created").asText()),
                        node.path("active").asBoolean(false),
                        fileName(node.path("publicKey").asText()),
                        privateKey.isTextual() ? Optional.of(fileName(privateKey.asText())) : Optional.empty()));
            }
            long active = keys.stream().filter(KeyInfo::active).count();
            if (active != 1) {
                throw new KeyException("key index " + FILE_NAME + " lists " + active + " active keys, expected one");
            }
            if (keys.stream().filter(KeyInfo::active).findFirst().orElseThrow().privateKeyFile().isEmpty()) {
                throw new KeyException("key index " + FILE_NAME + " has no private key file for the active key");
            }
            return List.copyOf(keys);
        } catch (IOException | IllegalArgumentException | DateTimeParseException e) {
            throw new KeyException("key index " + FILE_NAME + " is damaged: " + e.getMessage(), e);
        }
    }

    private static String fileName(String name) {
        if (!FILE_NAME_PATTERN.matcher(name).matches()) {
            throw new IllegalArgumentException("unexpected key file name '" + name + "'");
        }
        return name;
    }
}
