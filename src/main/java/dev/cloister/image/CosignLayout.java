package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * cosign's registry layout for signatures and attestations, byte for byte as cosign writes them
 * (sigstore/cosign pkg/oci/static, sigstore/sigstore pkg/signature/payload): for image digest {@code sha256:<hex>},
 * tag {@code sha256-<hex>.sig} holds an OCI manifest whose layer is the simple-signing payload with the signature in
 * the layer annotation {@code dev.cosignproject.cosign/signature}; tag {@code sha256-<hex>.att} holds one whose layer
 * is a DSSE envelope (annotation {@code predicateType}, signature annotation empty: the signature is in the
 * envelope). The config is go-containerregistry's empty image config with the layer's diff id.
 */
final class CosignLayout {

    static final String SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
    static final String DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
    static final String CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
    static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
    static final String PREDICATE_TYPE_ANNOTATION = "predicateType";
    static final String SIGNATURE_TYPE = "cosign container image signature";
    /** Go's zero time, which go-containerregistry writes for the empty image's creation. */
    private static final String GO_ZERO_TIME = "0001-01-01T00:00:00Z";

    /** One layer of a signature or attestation manifest. */
    record Layer(String mediaType, byte[] content, Map<String, String> annotations) {
        Layer {
            content = content.clone();
            annotations = new TreeMap<>(annotations);
        }

        Digest digest() {
            return Digest.of(content);
        }
    }

    /** A descriptor read from a manifest. */
    record Descriptor(String mediaType, Digest digest, long size, Map<String, String> annotations) {
    }

    /** What a simple-signing payload says. */
    record SimpleSigning(String dockerReference, String manifestDigest, String type) {
    }

    /** A DSSE envelope as read: payload bytes and the signatures. */
    record Envelope(String payloadType, byte[] payload, List<byte[]> signatures) {
    }

    private CosignLayout() {
    }

    static String signatureTag(Digest image) {
        return "sha256-" + image.hex() + ".sig";
    }

    static String attestationTag(Digest image) {
        return "sha256-" + image.hex() + ".att";
    }

    /**
     * The simple-signing payload, as sigstore's {@code payload.Cosign} marshals it: {@code critical} (identity,
     * image, type) then {@code optional} (keys sorted, as Go sorts map keys; {@code null} when empty).
     */
    static byte[] simpleSigningPayload(String dockerReference, Digest image, Map<String, String> optional) {
        ObjectNode root = Json.object();
        ObjectNode critical = root.putObject("critical");
        critical.putObject("identity").put("docker-reference", dockerReference);
        critical.putObject("image").put("docker-manifest-digest", image.toString());
        critical.put("type", SIGNATURE_TYPE);
        if (optional.isEmpty()) {
            root.putNull("optional");
        } else {
            ObjectNode o = root.putObject("optional");
            new TreeMap<>(optional).forEach(o::put);
        }
        return Json.bytes(root);
    }

    /** go-containerregistry's {@code empty.Image} config after appending one uncompressed layer. */
    static byte[] config(List<Digest> diffIds) {
        ObjectNode root = Json.object();
        root.put("architecture", "");
        root.put("created", GO_ZERO_TIME);
        ArrayNode history = root.putArray("history");
        diffIds.forEach(d -> history.addObject().put("created", GO_ZERO_TIME));
        root.put("os", "");
        ObjectNode rootfs = root.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode ids = rootfs.putArray("diff_ids");
        diffIds.forEach(d -> ids.add(d.toString()));
        root.putObject("config");
        return Json.bytes(root);
    }

    /** An OCI image manifest over {@code config} and {@code layers} (descriptor fields in OCI order). */
    static byte[] manifest(byte[] config, List<Layer> layers) {
        ObjectNode root = Json.object();
        root.put("schemaVersion", 2);
        root.put("mediaType", RegistryClient.OCI_MANIFEST);
        ObjectNode c = root.putObject("config");
        c.put("mediaType", CONFIG_MEDIA_TYPE);
        c.put("size", config.length);
        c.put("digest", Digest.of(config).toString());
        ArrayNode array = root.putArray("layers");
        for (Layer layer : layers) {
            ObjectNode l = array.addObject();
            l.put("mediaType", layer.mediaType());
            l.put("size", layer.content().length);
            l.put("digest", layer.digest().toString());
            if (!layer.annotations().isEmpty()) {
                ObjectNode a = l.putObject("annotations");
                layer.annotations().forEach(a::put);
            }
        }
        return Json.bytes(root);
    }

    static Layer signatureLayer(byte[] payload, byte[] signature) {
        return new Layer(SIMPLE_SIGNING_MEDIA_TYPE, payload,
                Map.of(SIGNATURE_ANNOTATION, Base64.getEncoder().encodeToString(signature)));
    }

    static Layer attestationLayer(byte[] envelope, String predicateType) {
        return new Layer(DSSE_MEDIA_TYPE, envelope,
                Map.of(SIGNATURE_ANNOTATION, "", PREDICATE_TYPE_ANNOTATION, predicateType));
    }

    /** A DSSE envelope with one signature and an empty key id, as cosign writes it. */
    static byte[] envelope(String payloadType, byte[] payload, byte[] signature) {
        ObjectNode root = Json.object();
        root.put("payloadType", payloadType);
        root.put("payload", Base64.getEncoder().encodeToString(payload));
        ObjectNode sig = root.putArray("signatures").addObject();
        sig.put("keyid", "");
        sig.put("sig", Base64.getEncoder().encodeToString(signature));
        return Json.bytes(root);
    }

    /** The layer descriptors of a manifest; problems (not an OCI/Docker image manifest) go to {@code problems}. */
    static List<Descriptor> layers(byte[] manifest, List<String> problems) {
        ObjectNode root = Json.readObject(manifest);
        List<Descriptor> out = new ArrayList<>();
        if (root == null || root.path("schemaVersion").asInt() != 2 || !root.path("layers").isArray()) {
            problems.add("it is not an image manifest (schema 2 with layers)");
            return out;
        }
        for (JsonNode layer : root.path("layers")) {
            Descriptor d = descriptor(layer);
            if (d == null) {
                problems.add("it has a malformed layer descriptor");
            } else {
                out.add(d);
            }
        }
        return out;
    }

    /** The config descriptor of an image manifest, or null when there is none. */
    static Descriptor config(byte[] manifest) {
        ObjectNode root = Json.readObject(manifest);
        return root == null ? null : descriptor(root.path("config"));
    }

    private static Descriptor descriptor(JsonNode node) {
        if (!node.isObject() || !node.path("mediaType").isTextual() || !node.path("size").canConvertToLong()
                || node.path("size").asLong(-1) < 0) {
            return null;
        }
        Digest digest;
        try {
            digest = Digest.parse(node.path("digest").asText(""));
        } catch (IllegalArgumentException e) {
            return null;
        }
        Map<String, String> annotations = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.path("annotations").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            annotations.put(e.getKey(), e.getValue().asText(""));
        }
        return new Descriptor(node.path("mediaType").asText(), digest, node.path("size").asLong(), annotations);
    }

    /** Reads a simple-signing payload, or null when it is not one. */
    static SimpleSigning readPayload(byte[] payload) {
        ObjectNode root = Json.readObject(payload);
        if (root == null || !root.path("critical").isObject()) {
            return null;
        }
        JsonNode critical = root.path("critical");
        return new SimpleSigning(critical.path("identity").path("docker-reference").asText(""),
                critical.path("image").path("docker-manifest-digest").asText(""), critical.path("type").asText(""));
    }

    /** Reads a DSSE envelope, or null when it is not one. */
    static Envelope readEnvelope(byte[] json) {
        ObjectNode root = Json.readObject(json);
        if (root == null || !root.path("payloadType").isTextual() || !root.path("payload").isTextual()
                || !root.path("signatures").isArray()) {
            return null;
        }
        try {
            byte[] payload = Base64.getDecoder().decode(root.path("payload").asText());
            List<byte[]> signatures = new ArrayList<>();
            for (JsonNode s : root.path("signatures")) {
                signatures.add(Base64.getDecoder().decode(s.path("sig").asText("")));
            }
            return new Envelope(root.path("payloadType").asText(), payload, signatures);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
