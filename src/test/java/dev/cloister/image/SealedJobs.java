package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.keys.Signer;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ProvenanceFacts;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Map;

/** Test fixtures: a sealed job directory made by the real sealer, and serving code. */
final class SealedJobs {

    static final Instant SEALED = Instant.parse("2025-01-02T03:04:05Z");
    static final Digest DATASET = Digest.of("breast-cancer data");

    /** A sealed model and the metadata the control plane would hold for it. */
    record Sealed(Path dir, ModelMetadata metadata) {
    }

    private SealedJobs() {
    }

    static JobId newJobId() {
        return JobId.random(new SecureRandom());
    }

    /** Seals {@code files} (relative path → content) in {@code dir} as job {@code jobId} under {@code policy}. */
    static Sealed seal(Signer signer, Path dir, JobId jobId, String policy, Map<String, String> files)
            throws Exception {
        Files.createDirectories(dir);
        for (var e : files.entrySet()) {
            Path file = dir.resolve(e.getKey());
            Files.createDirectories(file.getParent());
            Files.writeString(file, e.getValue());
        }
        ProvenanceFacts facts = new ProvenanceFacts(jobId.value(), "urn:cloister:host:test", "{\"name\":\"test\"}",
                policy, Digest.of("policy " + policy), "training.json", Digest.of("seccomp"), "runc", "65534:65534",
                Map.of("pids", 64), "127.0.0.1:5000/cloister/trainer-base", Digest.of("trainer"), "MANIFEST_DIGEST",
                "breast-cancer", DATASET, null, null, SEALED, SEALED, SEALED);
        JobSealer.Seal seal = new JobSealer(() -> signer, 2).seal(dir, facts);
        return new Sealed(dir, new ModelMetadata(jobId, seal.manifest().rootDigest(), policy, SEALED));
    }

    static Sealed seal(Signer signer, Path dir, String policy) throws Exception {
        return seal(signer, dir, newJobId(), policy, Map.of("weights.json", "[0.25, 0.5]", "meta/classes.txt",
                "benign\nmalignant\n"));
    }

    static Path servingCode(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("serve.py"), "print('serving /model')\n");
        return dir;
    }
}
