package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.keys.HostKeys;
import dev.cloister.keys.Signer;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.SealedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ModelVerifierTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SIGNATURE_FAILS = "the DSSE signature does not verify with public key %s: the "
            + "payload or signature was altered, or another key signed it";

    @TempDir
    static Path keyDirs;
    private static HostKeys hostKeys;
    private static HostKeys otherHostKeys;

    @TempDir
    Path tmp;

    private final ModelVerifier verifier = new ModelVerifier();

    @BeforeAll
    static void openKeys() throws Exception {
        hostKeys = HostKeys.open(keyDirs.resolve("host"), "host passphrase".toCharArray());
        otherHostKeys = HostKeys.open(keyDirs.resolve("other"), "other passphrase".toCharArray());
    }

    @AfterAll
    static void closeKeys() {
        hostKeys.close();
        otherHostKeys.close();
    }

    private static Signer signer() {
        return hostKeys.signer();
    }

    private static String publicKey() {
        return hostKeys.signer().publicKeyPem();
    }

    private Path model(String name) throws Exception {
        Path model = tmp.resolve(name);
        write(model, "weights.bin", "weights of " + name);
        write(model, "config.json", "{\"layers\": 3}");
        write(model, "tokenizer/vocab.txt", "a\nb\nc\n");
        write(model, "empty.txt", "");
        return model;
    }

    private static void write(Path root, String name, String content) throws Exception {
        Path file = root.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    private Path sealedModel(String name) throws Exception {
        Path model = model(name);
        new ModelSigner(signer()).sign(model);
        return model;
    }

    private static List<String> reasons(Executable verification) {
        return assertThrows(VerificationException.class, verification).reasons();
    }

    private static ObjectNode bundle(Path model) throws Exception {
        return (ObjectNode) JSON.readTree(Files.readAllBytes(model.resolve("model.sig")));
    }

    private static void writeBundle(Path model, JsonNode bundle) throws Exception {
        Files.write(model.resolve("model.sig"), JSON.writeValueAsBytes(bundle));
    }

    private static String signatureFails(Signer signer) {
        return SIGNATURE_FAILS.formatted(signer.keyId());
    }

    @Test
    void aSealedModelVerifies() throws Exception {
        Path model = model("resnet");
        SealedModel sealed = new ModelSigner(signer()).sign(model);

        VerifiedModel verified = verifier.verify(model, publicKey());

        assertEquals(new VerifiedModel("resnet", sealed.manifest().rootDigest(), 4, hostKeys.activeKeyId()),
                verified);
    }

    @Test
    void aModifiedFileIsNamed() throws Exception {
        Path model = sealedModel("m");
        write(model, "tokenizer/vocab.txt", "a\nb\nX\n");
        assertEquals(List.of("file modified: tokenizer/vocab.txt"), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void anAddedFileIsNamed() throws Exception {
        Path model = sealedModel("m");
        write(model, "backdoor.py", "import os");
        assertEquals(List.of("file added (not in the signed manifest): backdoor.py"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aRemovedFileIsNamed() throws Exception {
        Path model = sealedModel("m");
        Files.delete(model.resolve("config.json"));
        assertEquals(List.of("file removed: config.json"), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aRenamedFileIsNamed() throws Exception {
        Path model = sealedModel("m");
        Files.move(model.resolve("config.json"), model.resolve("config.yaml"));
        assertEquals(List.of("file renamed: config.json -> config.yaml"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void everyDifferenceIsReportedAtOnce() throws Exception {
        Path model = sealedModel("m");
        write(model, "weights.bin", "other weights");
        Files.delete(model.resolve("config.json"));
        write(model, "extra/notes.md", "added");
        assertEquals(List.of("file modified: weights.bin", "file removed: config.json",
                        "file added (not in the signed manifest): extra/notes.md"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void anEditedPayloadFailsTheSignature() throws Exception {
        Path model = sealedModel("m");
        write(model, "weights.bin", "poisoned");
        ObjectNode bundle = bundle(model);
        ObjectNode envelope = (ObjectNode) bundle.get("dsseEnvelope");
        // The attacker rewrites the signed digest of weights.bin to match the poisoned file.
        ObjectNode statement = (ObjectNode) JSON.readTree(Base64.getDecoder().decode(envelope.get("payload").asText()));
        for (JsonNode resource : statement.get("predicate").get("resources")) {
            if (resource.get("name").asText().equals("weights.bin")) {
                ((ObjectNode) resource).put("digest", Digest.of("poisoned").hex());
            }
        }
        envelope.put("payload", Base64.getEncoder().encodeToString(JSON.writeValueAsBytes(statement)));
        writeBundle(model, bundle);

        assertEquals(List.of(signatureFails(signer())), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aSignatureTakenFromAnotherModelFails() throws Exception {
        Path model = sealedModel("m");
        Path other = sealedModel("other");
        ObjectNode bundle = bundle(model);
        ((ObjectNode) bundle.get("dsseEnvelope").get("signatures").get(0))
                .set("sig", bundle(other).get("dsseEnvelope").get("signatures").get(0).get("sig"));
        writeBundle(model, bundle);

        assertEquals(List.of(signatureFails(signer())), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aWholeBundleTakenFromAnotherModelFailsOnTheFiles() throws Exception {
        Path model = sealedModel("m");
        Path other = sealedModel("other");
        Files.copy(other.resolve("model.sig"), model.resolve("model.sig"), StandardCopyOption.REPLACE_EXISTING);
        // Same key, valid signature: only the file digests give it away.
        assertEquals(List.of("file modified: weights.bin"), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void anotherKeyIsRejected() throws Exception {
        Path model = sealedModel("m");
        Signer other = otherHostKeys.signer();
        assertEquals(List.of("the bundle's key hint " + hostKeys.activeKeyId() + " is not the id " + other.keyId()
                        + " of the given public key", signatureFails(other)),
                reasons(() -> verifier.verify(model, other.publicKeyPem())));
    }

    @Test
    void aModelSignedByAnotherKeyWithAForgedHintIsRejected() throws Exception {
        Path model = model("m");
        new ModelSigner(otherHostKeys.signer()).sign(model);
        ObjectNode bundle = bundle(model);
        ((ObjectNode) bundle.get("verificationMaterial").get("publicKey")).put("hint", hostKeys.activeKeyId().hex());
        writeBundle(model, bundle);
        assertEquals(List.of(signatureFails(signer())), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void anAddedSymbolicLinkIsRejected() throws Exception {
        Path model = sealedModel("m");
        Files.createSymbolicLink(model.resolve("weights-link.bin"), model.resolve("weights.bin"));
        assertEquals(List.of("symbolic link not allowed in a model: weights-link.bin"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aTruncatedBundleIsRejected() throws Exception {
        Path model = sealedModel("m");
        byte[] bundle = Files.readAllBytes(model.resolve("model.sig"));
        Files.write(model.resolve("model.sig"), Arrays.copyOf(bundle, bundle.length / 2));
        List<String> reasons = reasons(() -> verifier.verify(model, publicKey()));
        assertEquals(1, reasons.size());
        assertTrue(reasons.get(0).startsWith("the bundle is not a Sigstore bundle in JSON (truncated or malformed)"),
                reasons.get(0));
    }

    @Test
    void anEmptyBundleIsRejected() throws Exception {
        Path model = sealedModel("m");
        Files.write(model.resolve("model.sig"), new byte[0]);
        assertEquals(List.of("the bundle is empty"), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aMissingBundleIsRejected() throws Exception {
        Path model = model("m");
        assertEquals(List.of("no signature bundle at " + model.resolve("model.sig")),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void anOversizedBundleIsNotRead() throws Exception {
        Path model = sealedModel("m");
        assertEquals(List.of("the bundle model.sig is larger than the 100-byte limit"),
                reasons(() -> new ModelVerifier(2, 100).verify(model, publicKey())));
    }

    @Test
    void aSecondSignatureIsRejected() throws Exception {
        Path model = sealedModel("m");
        ObjectNode bundle = bundle(model);
        ArrayNode signatures = (ArrayNode) bundle.get("dsseEnvelope").get("signatures");
        signatures.add(signatures.get(0).deepCopy());
        writeBundle(model, bundle);
        assertEquals(List.of("the DSSE envelope has 2 signatures, expected exactly one"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void theUnsignedMediaTypeAndPayloadTypeAreChecked() throws Exception {
        Path model = sealedModel("m");
        ObjectNode bundle = bundle(model);
        bundle.put("mediaType", "application/vnd.dev.sigstore.bundle.v0.1+json");
        ((ObjectNode) bundle.get("dsseEnvelope")).put("payloadType", "text/plain");
        writeBundle(model, bundle);
        assertEquals(List.of("bundle media type 'application/vnd.dev.sigstore.bundle.v0.1+json' is not "
                        + "application/vnd.dev.sigstore.bundle.v0.3+json",
                        "DSSE payload type 'text/plain' is not application/vnd.in-toto+json",
                        signatureFails(signer())),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void theOldDigestsPredicateIsRejectedEvenWhenProperlySigned() throws Exception {
        Path model = sealedModel("m");
        ObjectNode statement = (ObjectNode) JSON.readTree(Base64.getDecoder().decode(
                bundle(model).get("dsseEnvelope").get("payload").asText()));
        statement.put("predicateType", "https://model_signing/Digests/v0.1");
        Files.write(model.resolve("model.sig"), Bundles.signStatement(signer(), JSON.writeValueAsBytes(statement)));
        assertEquals(List.of("predicate type https://model_signing/Digests/v0.1 is the pre-1.0 model signing "
                        + "format, which is not accepted; expected https://model_signing/signature/v1.0"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aSignedStatementWhoseSubjectDisagreesWithItsFilesIsRejected() throws Exception {
        Path model = sealedModel("m");
        ObjectNode statement = (ObjectNode) JSON.readTree(Base64.getDecoder().decode(
                bundle(model).get("dsseEnvelope").get("payload").asText()));
        ((ObjectNode) statement.get("subject").get(0).get("digest")).put("sha256", Digest.of("x").hex());
        Files.write(model.resolve("model.sig"), Bundles.signStatement(signer(), JSON.writeValueAsBytes(statement)));
        Digest root = ModelManifest.hash(model, List.of("model.sig")).rootDigest();
        assertEquals(List.of("subject digest " + Digest.of("x") + " is not the root digest " + root
                        + " of the files on disk"),
                reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void pathOrderAndNonAsciiNamesSealAndVerify() throws Exception {
        requireUtf8FileNames();
        Path model = tmp.resolve("ordering");
        write(model, "sub/a.txt", "a");
        write(model, "sub-b.txt", "b");
        write(model, "modèle-ü/données.bin", "c");
        write(model, "日本語.txt", "d");
        SealedModel sealed = new ModelSigner(signer()).sign(model);
        assertEquals(List.of("modèle-ü/données.bin", "sub/a.txt", "sub-b.txt", "日本語.txt"),
                sealed.manifest().resources().stream().map(ModelManifest.Resource::name).toList());

        assertEquals(4, verifier.verify(model, publicKey()).fileCount());

        write(model, "日本語.txt", "changed");
        assertEquals(List.of("file modified: 日本語.txt"), reasons(() -> verifier.verify(model, publicKey())));
    }

    @Test
    void aProvenanceBundleVerifiesAndReturnsItsStatement() throws Exception {
        byte[] statement = """
                {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"weights.bin","digest":{"sha256":"%s"}}],
                 "predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}"""
                .formatted(Digest.of("w").hex()).getBytes(StandardCharsets.UTF_8);
        byte[] bundle = Bundles.signStatement(signer(), statement);

        assertEquals(new String(statement, StandardCharsets.UTF_8), new String(
                verifier.verifyStatementBundle(bundle, publicKey(), "https://slsa.dev/provenance/v1"),
                StandardCharsets.UTF_8));
        assertEquals(List.of("predicate type 'https://slsa.dev/provenance/v1' is not https://model_signing/signature/v1.0"),
                reasons(() -> verifier.verifyStatementBundle(bundle, publicKey(),
                        "https://model_signing/signature/v1.0")));
        Signer other = otherHostKeys.signer();
        assertEquals(List.of("the bundle's key hint " + hostKeys.activeKeyId() + " is not the id " + other.keyId()
                        + " of the given public key", signatureFails(other)),
                reasons(() -> verifier.verifyStatementBundle(bundle, other.publicKeyPem(),
                        "https://slsa.dev/provenance/v1")));
    }

    @Test
    void anUnusablePublicKeyIsReported() throws Exception {
        Path model = sealedModel("m");
        assertEquals(List.of("the public key cannot be used: no '-----BEGIN PUBLIC KEY-----' block in the public "
                + "key text"), reasons(() -> verifier.verify(model, "not a key")));
    }

    static void requireUtf8FileNames() {
        String encoding = System.getProperty("sun.jnu.encoding");
        if (!"UTF-8".equalsIgnoreCase(encoding)) {
            fail("the JVM decodes file names as " + encoding + ", so non-ASCII model file names cannot be "
                    + "represented: run the tests with a UTF-8 locale (e.g. LANG=C.UTF-8)");
        }
    }
}
