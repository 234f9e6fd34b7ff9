package dev.cloister.image;

import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.keys.HostKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServingLayersTest {

    @Test
    void modelLayerHoldsTheSealedFilesRootOwnedReadOnlyWithFixedTimes(@TempDir Path tmp) throws Exception {
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray())) {
            SealedJobs.Sealed sealed = SealedJobs.seal(keys.signer(), tmp.resolve("model"), "restricted");
            Files.createDirectories(sealed.dir().resolve(".git"));
            Files.writeString(sealed.dir().resolve(".git/HEAD"), "not signed, not packaged");
            SealedModelDir dir = SealedModelDir.read(sealed.dir(), sealed.metadata());
            assertEquals(List.of("meta/classes.txt", "weights.json", "model.sig", "provenance.sigstore.json"),
                    dir.files());
            assertEquals(Digest.of(Files.readAllBytes(sealed.dir().resolve("provenance.sigstore.json"))),
                    dir.trainingProvenance());
            assertEquals(new ServingImage.Dataset("breast-cancer", SealedJobs.DATASET), dir.datasets().get(0));
            assertEquals(1, dir.datasets().size());

            FileEntriesLayer layer = ServingLayers.model(dir);
            assertEquals("model", layer.getName());
            List<String> entries = layer.getEntries().stream().map(e -> e.getExtractionPath() + " "
                    + e.getPermissions().toOctalString() + " " + e.getOwnership() + " "
                    + e.getModificationTime().getEpochSecond()).toList();
            assertEquals(List.of(
                    "/model 755 0:0 1",
                    "/model/meta 755 0:0 1",
                    "/model/meta/classes.txt 644 0:0 1",
                    "/model/weights.json 644 0:0 1",
                    "/model/model.sig 644 0:0 1",
                    "/model/provenance.sigstore.json 644 0:0 1"), entries);
            for (FileEntry e : layer.getEntries()) {
                assertTrue(Files.exists(e.getSourceFile()), e.getSourceFile().toString());
            }
        }
    }

    @Test
    void servingLayerCreatesItsParentsExplicitly(@TempDir Path tmp) throws Exception {
        Path code = SealedJobs.servingCode(tmp.resolve("serving"));
        List<String> entries = ServingLayers.servingCode(code, List.of("serve.py")).getEntries().stream()
                .map(e -> e.getExtractionPath() + " " + e.getPermissions().toOctalString()).toList();
        assertEquals(List.of("/opt 755", "/opt/cloister 755", "/opt/cloister/serving 755",
                "/opt/cloister/serving/serve.py 644"), entries);
        assertEquals(List.of("/usr/bin/tini", "--", "python3", "/opt/cloister/serving/serve.py"),
                ServingLayers.ENTRYPOINT);
    }

    @Test
    void refusesAnUnsealedOrMislabelledDirectory(@TempDir Path tmp) throws Exception {
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray())) {
            Path plain = Files.createDirectories(tmp.resolve("plain"));
            Files.writeString(plain.resolve("w.json"), "[1]");
            ModelMetadata any = new ModelMetadata(SealedJobs.newJobId(), Digest.of("x"), "restricted",
                    SealedJobs.SEALED);
            ImageException unsealed = assertThrows(ImageException.class, () -> SealedModelDir.read(plain, any));
            assertEquals(2, unsealed.problems().size(), unsealed.getMessage());
            assertTrue(unsealed.getMessage().contains("model.sig is missing"), unsealed.getMessage());

            SealedJobs.Sealed sealed = SealedJobs.seal(keys.signer(), tmp.resolve("model"), "restricted");
            ModelMetadata wrong = new ModelMetadata(new JobId("job-" + "1".repeat(32)), Digest.of("other"),
                    "permissive", SealedJobs.SEALED);
            ImageException mislabelled = assertThrows(ImageException.class,
                    () -> SealedModelDir.read(sealed.dir(), wrong));
            assertEquals(4, mislabelled.problems().size(), mislabelled.getMessage());
            assertTrue(mislabelled.problems().get(0).contains("not the sealed model digest"), mislabelled.getMessage());
            assertTrue(mislabelled.problems().get(1).contains("is the provenance of '" + sealed.metadata().origin().id()
                    + "', not of job job-" + "1".repeat(32)), mislabelled.getMessage());
            // A job's sealed directory offered as a federation's model: the provenance names the job.
            ModelMetadata federation = new ModelMetadata(new dev.cloister.job.ModelOrigin("fed-" + "2".repeat(32)),
                    sealed.metadata().modelDigest(), "restricted", SealedJobs.SEALED);
            ImageException notTheFederation = assertThrows(ImageException.class,
                    () -> SealedModelDir.read(sealed.dir(), federation));
            assertEquals(List.of("provenance.sigstore.json is the provenance of '" + sealed.metadata().origin().id()
                    + "', not of federation fed-" + "2".repeat(32)), notTheFederation.problems());
            assertTrue(mislabelled.problems().get(2).contains("policy 'restricted', not 'permissive'"),
                    mislabelled.getMessage());

            Files.writeString(sealed.dir().resolve("weights.json"), "[9]");
            ImageException changed = assertThrows(ImageException.class,
                    () -> SealedModelDir.read(sealed.dir(), sealed.metadata()));
            assertTrue(changed.getMessage().contains("changed after sealing"), changed.getMessage());

            Files.createSymbolicLink(sealed.dir().resolve("link"), Path.of("/etc/passwd"));
            ImageException link = assertThrows(ImageException.class,
                    () -> SealedModelDir.read(sealed.dir(), sealed.metadata()));
            assertFalse(link.problems().isEmpty());
        }
    }

    @Test
    void labelsNameTheModelJobPolicyAndBase(@TempDir Path tmp) throws Exception {
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray())) {
            SealedJobs.Sealed sealed = SealedJobs.seal(keys.signer(), tmp.resolve("model"), "restricted");
            SealedModelDir dir = SealedModelDir.read(sealed.dir(), sealed.metadata());
            ImageReference base = ImageReference.parse("127.0.0.1:5000/cloister/serving-base@" + Digest.of("b"));
            Map<String, String> labels = ServingImageBuilder.labels(base, sealed.metadata(), dir);
            assertEquals(sealed.metadata().modelDigest().toString(), labels.get("dev.cloister.model.digest"));
            assertEquals(sealed.metadata().origin().id(), labels.get("dev.cloister.job-id"));
            assertEquals("restricted", labels.get("dev.cloister.policy"));
            assertEquals(Digest.of("b").toString(), labels.get("org.opencontainers.image.base.digest"));
            assertEquals("127.0.0.1:5000/cloister/serving-base", labels.get("org.opencontainers.image.base.name"));
            assertEquals("2025-01-02T03:04:05Z", labels.get("org.opencontainers.image.created"));
            assertEquals(SealedJobs.DATASET.toString(), labels.get("dev.cloister.dataset.digest"));
        }
    }
}
