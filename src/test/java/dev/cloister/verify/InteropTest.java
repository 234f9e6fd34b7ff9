package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.keys.HostKeys;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.ModelSigner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Independent verification: the npm {@code @sigstore/verify} library (src/test/js/verify-bundle.mjs, offline,
 * key-based) must accept the bundles Cloister writes and refuse tampered ones. Needs node and npm; installs the
 * pinned packages with {@code npm ci} when src/test/js/node_modules is missing.
 */
class InteropTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path JS_DIR = Path.of("src", "test", "js").toAbsolutePath();
    private static final long NPM_TIMEOUT_SECONDS = 300;
    private static final long NODE_TIMEOUT_SECONDS = 60;

    @TempDir
    static Path keyDirs;
    private static HostKeys hostKeys;
    private static HostKeys otherKeys;

    @TempDir
    Path tmp;

    private record Run(int exitCode, String stdout, String stderr) {
    }

    @BeforeAll
    static void setUp() throws Exception {
        if (!Files.isDirectory(JS_DIR.resolve("node_modules/@sigstore/verify"))) {
            Run install = run(List.of(tool("npm"), "ci", "--no-audit", "--no-fund"), NPM_TIMEOUT_SECONDS);
            assertEquals(0, install.exitCode(), "npm ci in " + JS_DIR + " failed: " + install.stderr());
        }
        hostKeys = HostKeys.open(keyDirs.resolve("host"), "interop".toCharArray());
        otherKeys = HostKeys.open(keyDirs.resolve("other"), "interop".toCharArray());
    }

    @AfterAll
    static void tearDown() {
        hostKeys.close();
        otherKeys.close();
    }

    @Test
    void sigstoreJsAcceptsASealedModelAndItsSubjectDigestMatchesTheFiles() throws Exception {
        Path model = tmp.resolve("interop-model");
        byte[] a = write(model, "sub/a.txt", "first");
        byte[] b = write(model, "sub-b.txt", "second");
        byte[] w = write(model, "weights.bin", "weights");
        new ModelSigner(hostKeys.signer()).sign(model);

        Run run = verifyWithNode(model.resolve("model.sig"), hostKeys.signer().publicKeyPem());

        assertEquals(0, run.exitCode(), "sigstore-js rejected Cloister's bundle: " + run.stderr());
        JsonNode out = JSON.readTree(run.stdout());
        assertEquals(hostKeys.activeKeyId().hex(), out.get("keyId").asText(),
                "Node's SHA-256 of its own PEM export equals Cloister's key id");
        JsonNode statement = out.get("statement");
        assertEquals("https://model_signing/signature/v1.0", statement.get("predicateType").asText());
        JsonNode subject = statement.get("subject").get(0);
        assertEquals("interop-model", subject.get("name").asText());
        // Recomputed here from the bytes written above, in OMS order ("sub/a.txt" before "sub-b.txt").
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (byte[] content : List.of(a, b, w)) {
            raw.writeBytes(sha256(content));
        }
        assertEquals(HexFormat.of().formatHex(sha256(raw.toByteArray())),
                subject.get("digest").get("sha256").asText());
        List<String> resources = new ArrayList<>();
        statement.get("predicate").get("resources").forEach(r ->
                resources.add(r.get("name").asText() + "=" + r.get("digest").asText()));
        assertEquals(List.of("sub/a.txt=" + hex(a), "sub-b.txt=" + hex(b), "weights.bin=" + hex(w)), resources);
    }

    @Test
    void sigstoreJsRejectsATamperedPayload() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "weights.bin", "weights");
        new ModelSigner(hostKeys.signer()).sign(model);
        ObjectNode bundle = (ObjectNode) JSON.readTree(Files.readAllBytes(model.resolve("model.sig")));
        ObjectNode envelope = (ObjectNode) bundle.get("dsseEnvelope");
        String statement = new String(Base64.getDecoder().decode(envelope.get("payload").asText()),
                StandardCharsets.UTF_8);
        envelope.put("payload", Base64.getEncoder().encodeToString(
                statement.replace("\"name\":\"m\"", "\"name\":\"evil\"").getBytes(StandardCharsets.UTF_8)));
        Path tampered = tmp.resolve("tampered.sig");
        Files.write(tampered, JSON.writeValueAsBytes(bundle));

        Run run = verifyWithNode(tampered, hostKeys.signer().publicKeyPem());

        assertEquals(1, run.exitCode(), run.stdout());
        assertEquals("verification failed: signature verification failed", run.stderr().strip());
    }

    @Test
    void sigstoreJsRejectsAnotherKey() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "weights.bin", "weights");
        new ModelSigner(hostKeys.signer()).sign(model);

        Run run = verifyWithNode(model.resolve("model.sig"), otherKeys.signer().publicKeyPem());

        assertEquals(1, run.exitCode(), run.stdout());
        assertEquals("verification failed: key hint " + hostKeys.activeKeyId() + " is not the id "
                + otherKeys.activeKeyId() + " of the given public key", run.stderr().strip());
    }

    @Test
    void sigstoreJsAcceptsAProvenanceStyleStatementBundle() throws Exception {
        byte[] statement = ("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"weights.bin\","
                + "\"digest\":{\"sha256\":\"" + hex("w".getBytes(StandardCharsets.UTF_8)) + "\"}}],"
                + "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}")
                .getBytes(StandardCharsets.UTF_8);
        Path bundle = tmp.resolve("provenance.sigstore.json");
        Files.write(bundle, Bundles.signStatement(hostKeys.signer(), statement));

        Run run = verifyWithNode(bundle, hostKeys.signer().publicKeyPem());

        assertEquals(0, run.exitCode(), run.stderr());
        assertEquals(JSON.readTree(statement), JSON.readTree(run.stdout()).get("statement"));
    }

    private Run verifyWithNode(Path bundle, String publicKeyPem) throws Exception {
        Path key = Files.createTempFile(tmp, "key", ".pem");
        Files.writeString(key, publicKeyPem);
        return run(List.of(tool("node"), JS_DIR.resolve("verify-bundle.mjs").toString(), bundle.toString(),
                key.toString()), NODE_TIMEOUT_SECONDS);
    }

    private static Run run(List<String> command, long timeoutSeconds) throws Exception {
        Path out = Files.createTempFile("interop", ".out");
        Path err = Files.createTempFile("interop", ".err");
        try {
            Process process = new ProcessBuilder(command).directory(JS_DIR.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
            }
            return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** node and npm from /usr/bin (Debian) or the PATH; a missing tool fails the test, it is not skipped. */
    private static String tool(String name) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        return fail(name + " is not installed: the interoperability test needs node 20+ and npm");
    }

    private static byte[] write(Path root, String name, String content) throws Exception {
        Path file = root.resolve(name);
        Files.createDirectories(file.getParent());
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        Files.write(file, bytes);
        return bytes;
    }

    private static byte[] sha256(byte[] content) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(content);
    }

    private static String hex(byte[] content) throws Exception {
        return HexFormat.of().formatHex(sha256(content));
    }
}
