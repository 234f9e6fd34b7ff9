package dev.cloister.seal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import static dev.cloister.seal.ModelManifestTest.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelSignerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void writesAKeyBasedSigstoreBundleWithTheOmsStatement() throws Exception {
        Path model = tmp.resolve("resnet");
        write(model, "weights.bin", "weights");
        write(model, "config/params.json", "{}");
        write(model, "provenance.json", "not signed here");
        TestSigner signer = new TestSigner();

        SealedModel sealed = new ModelSigner(signer).sign(model, "provenance.json");

        assertEquals(model.resolve("model.sig"), sealed.signatureFile());
        assertEquals(signer.keyId(), sealed.keyId());
        JsonNode bundle = JSON.readTree(Files.readAllBytes(sealed.signatureFile()));
        assertEquals(List.of("mediaType", "verificationMaterial", "dsseEnvelope"), fieldNames(bundle));
        assertEquals("application/vnd.dev.sigstore.bundle.v0.3+json", bundle.get("mediaType").asText());
        assertEquals(JSON.readTree("{\"publicKey\":{\"hint\":\"" + signer.keyId().hex() + "\"},\"tlogEntries\":[]}"),
                bundle.get("verificationMaterial"));
        JsonNode envelope = bundle.get("dsseEnvelope");
        assertEquals("application/vnd.in-toto+json", envelope.get("payloadType").asText());
        assertEquals(1, envelope.get("signatures").size());
        assertEquals("", envelope.get("signatures").get(0).get("keyid").asText());

        byte[] payload = Base64.getDecoder().decode(envelope.get("payload").asText());
        byte[] signature = Base64.getDecoder().decode(envelope.get("signatures").get(0).get("sig").asText());
        assertTrue(signer.verify(Dsse.pae("application/vnd.in-toto+json", payload), signature),
                "ECDSA P-256/SHA-256 over the PAE of the payload");

        Digest weights = Digest.of("weights");
        Digest params = Digest.of("{}");
        Digest root = Digest.of(concat(params.raw(), weights.raw()));
        JsonNode expected = JSON.readTree("""
                {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": "resnet", "digest": {"sha256": "%s"}}],
                 "predicateType": "https://model_signing/signature/v1.0",
                 "predicate": {
                   "resources": [
                     {"name": "config/params.json", "algorithm": "sha256", "digest": "%s"},
                     {"name": "weights.bin", "algorithm": "sha256", "digest": "%s"}],
                   "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false,
                     "ignore_paths": [".git", ".gitattributes", ".github", ".gitignore", "model.sig",
                                      "provenance.json"]}}}
                """.formatted(root.hex(), params.hex(), weights.hex()));
        assertEquals(expected, JSON.readTree(payload));
        assertEquals(List.of("_type", "subject", "predicateType", "predicate"), fieldNames(JSON.readTree(payload)));
    }

    @Test
    void resealingReplacesTheSignatureAtomically() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "weights.bin", "weights");
        ModelSigner signer = new ModelSigner(new TestSigner());
        signer.sign(model);
        SealedModel again = signer.sign(model);
        assertEquals(List.of("weights.bin"),
                again.manifest().resources().stream().map(ModelManifest.Resource::name).toList(),
                "the previous model.sig is not part of the manifest");
        try (Stream<Path> files = Files.list(model)) {
            assertEquals(List.of("model.sig", "weights.bin"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file is left");
        }
    }

    @Test
    void refusesToSealAModelWithASymbolicLink() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "weights.bin", "weights");
        Files.createSymbolicLink(model.resolve("escape"), write(tmp, "outside-the-model", "secret"));
        SealException e = assertThrows(SealException.class, () -> new ModelSigner(new TestSigner()).sign(model));
        assertEquals(List.of("symbolic link not allowed in a model: escape"), e.problems());
        assertTrue(Files.notExists(model.resolve("model.sig")));
    }

    @Test
    void signStatementAcceptsOnlyInTotoStatements() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bundles.signStatement(new TestSigner(), "{\"a\":1}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("the statement is not an in-toto https://in-toto.io/Statement/v1", e.getMessage());
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
