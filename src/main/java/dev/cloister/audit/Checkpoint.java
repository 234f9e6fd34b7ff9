package dev.cloister.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.keys.Signer;
import dev.cloister.seal.Dsse;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;

/**
 * A signed checkpoint: the host's signature over {@code {seq, headHash, time, keyId}}, where {@code headHash} is the
 * hash of entry {@code seq}. It is stored as an entry of its own (action {@value #ACTION}) right after entry
 * {@code seq}, so it is chained like any other entry; see the package documentation for the exact bytes signed.
 */
final class Checkpoint {

    static final String ACTION = "audit.checkpoint";

    /**
     * The DSSE payload type: signing the pre-authentication encoding, not the bare payload, keeps a checkpoint
     * signature from ever passing as a signature over an in-toto statement made with the same host key.
     */
    static final String PAYLOAD_TYPE = "application/vnd.cloister.audit-checkpoint.v1+json";

    static final Set<String> DETAIL_FIELDS = Set.of("seq", "headHash", "keyId", "signature");

    private Checkpoint() {
    }

    /** The details of a checkpoint entry signing entry {@code seq} with hash {@code headHash} at {@code time}. */
    static ObjectNode sign(Signer signer, long seq, String headHash, String time) {
        String keyId = signer.keyId().hex();
        byte[] signature = signer.sign(signedBytes(seq, headHash, time, keyId));
        ObjectNode details = JsonNodeFactory.instance.objectNode();
        details.put("seq", seq);
        details.put("headHash", headHash);
        details.put("keyId", keyId);
        details.put("signature", Base64.getEncoder().encodeToString(signature));
        return details;
    }

    /**
     * The canonical payload {@code {"headHash":H,"keyId":K,"seq":N,"time":T}} (keys sorted, as {@link CanonicalJson}
     * writes every object).
     */
    static byte[] payload(long seq, String headHash, String time, String keyId) {
        ObjectNode payload = JsonNodeFactory.instance.objectNode();
        payload.put("headHash", headHash);
        payload.put("keyId", keyId);
        payload.put("seq", seq);
        payload.put("time", time);
        return CanonicalJson.of(payload).getBytes(StandardCharsets.UTF_8);
    }

    /** What the signature is computed over: DSSE PAE({@value #PAYLOAD_TYPE}, payload). */
    static byte[] signedBytes(long seq, String headHash, String time, String keyId) {
        return Dsse.pae(PAYLOAD_TYPE, payload(seq, headHash, time, keyId));
    }

    /**
     * Checks the shape of a checkpoint's details.
     *
     * @return null when well-formed, otherwise what is wrong
     */
    static String malformed(JsonNode details) {
        Set<String> names = new TreeSet<>();
        details.fieldNames().forEachRemaining(names::add);
        if (!names.equals(new TreeSet<>(DETAIL_FIELDS))) {
            return "details must hold exactly " + new TreeSet<>(DETAIL_FIELDS) + ", not " + names;
        }
        if (!details.get("seq").isIntegralNumber() || !details.get("seq").canConvertToLong()) {
            return "details.seq is not an integer";
        }
        for (String field : new String[]{"headHash", "keyId", "signature"}) {
            if (!details.get(field).isTextual()) {
                return "details." + field + " is not a string";
            }
        }
        return null;
    }
}
