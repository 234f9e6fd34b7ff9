package dev.cloister.seal;

import dev.cloister.digest.Digest;
import dev.cloister.keys.HostKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobSealerTest {

    static ProvenanceFacts facts() {
        return new ProvenanceFacts("job-" + "0".repeat(32), "urn:cloister:host:test", "{\"name\":\"x\"}", "restricted",
                Digest.of("policy"), "training.json", Digest.of("seccomp"), "runc", "1000:1000", Map.of("pids", 64),
                "cloister/trainer-base", Digest.of("image"), "IMAGE_ID", "breast-cancer", Digest.of("data"),
                null, null, Instant.EPOCH, Instant.EPOCH, Instant.EPOCH);
    }

    @Test
    void writesBothFilesOrNeither(@TempDir Path tmp) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(model.resolve("w.json"), "[1]");
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray())) {
            JobSealer sealer = new JobSealer(keys::signer, 2);
            JobSealer.Seal seal = sealer.seal(model, facts());
            assertTrue(Files.exists(seal.signatureFile()) && Files.exists(seal.provenanceFile()));

            Path broken = Files.createDirectories(tmp.resolve("broken"));
            Files.writeString(broken.resolve("w.json"), "[1]");
            Files.createSymbolicLink(broken.resolve("link"), Path.of("/etc/passwd"));
            assertThrows(SealException.class, () -> sealer.seal(broken, facts()));
            assertFalse(Files.exists(broken.resolve(ModelSigner.SIGNATURE_FILE)), "no signature after a failed seal");
            assertFalse(Files.exists(broken.resolve(JobSealer.PROVENANCE_FILE)), "no provenance after a failed seal");
        }
    }
}
