package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.seal.Dsse;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cosign's formats, byte for byte: these are what cosign and other verifiers read. */
class CosignLayoutTest {

    private static final Digest IMAGE = new Digest("ab".repeat(32));
    private static final String REPO = "127.0.0.1:5000/cloister/models/bc";

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void tagsFollowCosignsNaming() {
        assertEquals("sha256-" + "ab".repeat(32) + ".sig", CosignLayout.signatureTag(IMAGE));
        assertEquals("sha256-" + "ab".repeat(32) + ".att", CosignLayout.attestationTag(IMAGE));
    }

    @Test
    void simpleSigningPayloadIsCosignsExactBytes() {
        assertEquals("{\"critical\":{\"identity\":{\"docker-reference\":\"" + REPO + "\"},\"image\":"
                        + "{\"docker-manifest-digest\":\"sha256:" + "ab".repeat(32) + "\"},"
                        + "\"type\":\"cosign container image signature\"},\"optional\":null}",
                text(CosignLayout.simpleSigningPayload(REPO, IMAGE, Map.of())));
        // Go marshals map keys sorted.
        assertEquals("{\"critical\":{\"identity\":{\"docker-reference\":\"" + REPO + "\"},\"image\":"
                        + "{\"docker-manifest-digest\":\"sha256:" + "ab".repeat(32) + "\"},"
                        + "\"type\":\"cosign container image signature\"},"
                        + "\"optional\":{\"a\":\"1\",\"b\":\"2\"}}",
                text(CosignLayout.simpleSigningPayload(REPO, IMAGE, Map.of("b", "2", "a", "1"))));
        CosignLayout.SimpleSigning read = CosignLayout.readPayload(CosignLayout.simpleSigningPayload(REPO, IMAGE,
                Map.of()));
        assertEquals(new CosignLayout.SimpleSigning(REPO, IMAGE.toString(), CosignLayout.SIGNATURE_TYPE), read);
    }

    @Test
    void configIsGoContainerRegistrysEmptyImageWithOneLayer() {
        Digest layer = Digest.of("payload");
        assertEquals("{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[{\"created\":"
                        + "\"0001-01-01T00:00:00Z\"}],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                        + layer + "\"]},\"config\":{}}",
                text(CosignLayout.config(List.of(layer))));
    }

    @Test
    void signatureManifestIsAnOciManifestWithTheSignatureAnnotation() {
        byte[] payload = "{\"p\":1}".getBytes(StandardCharsets.UTF_8);
        byte[] signature = {1, 2, 3};
        CosignLayout.Layer layer = CosignLayout.signatureLayer(payload, signature);
        byte[] config = CosignLayout.config(List.of(layer.digest()));
        String manifest = text(CosignLayout.manifest(config, List.of(layer)));
        assertEquals("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":" + config.length
                + ",\"digest\":\"" + Digest.of(config) + "\"},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":7,"
                + "\"digest\":\"" + Digest.of(payload) + "\","
                + "\"annotations\":{\"dev.cosignproject.cosign/signature\":\"AQID\"}}]}", manifest);

        List<String> problems = new ArrayList<>();
        List<CosignLayout.Descriptor> layers = CosignLayout.layers(manifest.getBytes(StandardCharsets.UTF_8), problems);
        assertEquals(List.of(), problems);
        assertEquals(new CosignLayout.Descriptor(CosignLayout.SIMPLE_SIGNING_MEDIA_TYPE, Digest.of(payload), 7,
                Map.of(CosignLayout.SIGNATURE_ANNOTATION, "AQID")), layers.get(0));
        assertEquals(Digest.of(config), CosignLayout.config(manifest.getBytes(StandardCharsets.UTF_8)).digest());
    }

    @Test
    void attestationLayerCarriesThePredicateTypeAndAnEmptySignatureAnnotation() {
        byte[] envelope = "{}".getBytes(StandardCharsets.UTF_8);
        CosignLayout.Layer layer = CosignLayout.attestationLayer(envelope, "https://slsa.dev/provenance/v1");
        String manifest = text(CosignLayout.manifest(CosignLayout.config(List.of(layer.digest())), List.of(layer)));
        assertTrue(manifest.contains("\"layers\":[{\"mediaType\":\"application/vnd.dsse.envelope.v1+json\","
                + "\"size\":2,\"digest\":\"" + Digest.of(envelope) + "\",\"annotations\":{"
                + "\"dev.cosignproject.cosign/signature\":\"\",\"predicateType\":\"https://slsa.dev/provenance/v1\"}}]"),
                manifest);
    }

    @Test
    void envelopeIsDsseJsonAndVerifiesOverThePae() {
        dev.cloister.seal.TestSigner signer = new dev.cloister.seal.TestSigner();
        byte[] statement = "{\"_type\":\"https://in-toto.io/Statement/v1\"}".getBytes(StandardCharsets.UTF_8);
        byte[] signature = signer.sign(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, statement));
        byte[] envelope = CosignLayout.envelope(Dsse.IN_TOTO_PAYLOAD_TYPE, statement, signature);
        assertEquals("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""
                + Base64.getEncoder().encodeToString(statement) + "\",\"signatures\":[{\"keyid\":\"\",\"sig\":\""
                + Base64.getEncoder().encodeToString(signature) + "\"}]}", text(envelope));

        CosignLayout.Envelope read = CosignLayout.readEnvelope(envelope);
        assertArrayEquals(statement, read.payload());
        PublicKeyPem key = PublicKeyPem.parse(signer.publicKeyPem());
        assertTrue(key.verifies(Dsse.pae(read.payloadType(), read.payload()), read.signatures().get(0)));
        assertFalse(key.verifies(statement, read.signatures().get(0)), "the PAE is signed, not the payload");
        assertFalse(PublicKeyPem.parse(new dev.cloister.seal.TestSigner().publicKeyPem()).verifies(
                Dsse.pae(read.payloadType(), read.payload()), read.signatures().get(0)), "another key");
        assertFalse(key.verifies(statement, new byte[]{1, 2}), "not DER");
    }

    @Test
    void malformedInputReadsAsNothing() {
        assertNull(CosignLayout.readEnvelope("[]".getBytes(StandardCharsets.UTF_8)));
        assertNull(CosignLayout.readEnvelope("{\"payloadType\":\"x\",\"payload\":\"!!\",\"signatures\":[]}"
                .getBytes(StandardCharsets.UTF_8)));
        assertNull(CosignLayout.readPayload("{\"critical\":1,\"critical\":2}".getBytes(StandardCharsets.UTF_8)),
                "duplicate keys are refused");
        List<String> problems = new ArrayList<>();
        CosignLayout.layers("{\"schemaVersion\":2,\"manifests\":[]}".getBytes(StandardCharsets.UTF_8), problems);
        assertEquals(List.of("it is not an image manifest (schema 2 with layers)"), problems);
    }
}
