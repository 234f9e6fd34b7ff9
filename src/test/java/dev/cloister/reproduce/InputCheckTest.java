package dev.cloister.reproduce;

import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.SandboxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every input a sealed job recorded is checked again before a re-run; each change is named. */
class InputCheckTest {

    private static final ImageRef IMAGE = ImageRef.parse("cloister/trainer-base@sha256:" + "c".repeat(64));

    private static Policies policies(Path dir, String extraComment) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("restricted.yaml"), Files.readString(Path.of("policies/restricted.yaml"))
                + extraComment);
        return Policies.load(dir, Path.of("seccomp-profiles"), "restricted");
    }

    @Test
    void unchangedInputsPass(@TempDir Path tmp) throws Exception {
        Policies p = policies(tmp.resolve("policies"), "");
        DatasetRegistry datasets = new DatasetRegistry(Files.createDirectories(tmp.resolve("datasets")), Clock.systemUTC());
        Files.createDirectories(tmp.resolve("datasets/d"));
        Files.writeString(tmp.resolve("datasets/d/data.csv"), "a,b\n1,2\n");
        Digest data = datasets.register("d", "test").digest();
        RecordedInputs r = new RecordedInputs("{}", "restricted", p.find("restricted").orElseThrow().digest(), IMAGE,
                "d", data);
        assertEquals(List.of(), InputCheck.changes(r, p, datasets, image -> image));
    }

    @Test
    void anEditedPolicyAnEditedDatasetAndAGoneImageAreEachNamed(@TempDir Path tmp) throws Exception {
        Policies before = policies(tmp.resolve("before"), "");
        Policies after = policies(tmp.resolve("after"), "# reviewed again\n");
        DatasetRegistry datasets = new DatasetRegistry(Files.createDirectories(tmp.resolve("datasets")), Clock.systemUTC());
        Files.createDirectories(tmp.resolve("datasets/d"));
        Files.writeString(tmp.resolve("datasets/d/data.csv"), "a,b\n1,2\n");
        Digest data = datasets.register("d", "test").digest();
        Files.writeString(tmp.resolve("datasets/d/data.csv"), "a,b\n1,3\n");
        RecordedInputs r = new RecordedInputs("{}", "restricted", before.find("restricted").orElseThrow().digest(),
                IMAGE, "d", data);
        List<Violation> changed = InputCheck.changes(r, after, datasets, image -> {
            throw new SandboxException(SandboxException.Kind.IMAGE_NOT_FOUND, "not on this host");
        });
        assertEquals(List.of("policy", "dataset", "image"), changed.stream().map(Violation::field).toList());
        assertTrue(changed.get(0).reason().contains("policy 'restricted' was edited: it was "
                + before.find("restricted").orElseThrow().digest()), changed.toString());
        assertTrue(changed.get(1).reason().contains("dataset 'd' was edited: it was " + data + ", its content is now"),
                changed.toString());
        assertTrue(changed.get(2).reason().contains("image " + IMAGE + " is gone"), changed.toString());
    }

    @Test
    void anUnregisteredDatasetAndAMissingPolicyAreNamed(@TempDir Path tmp) throws Exception {
        Policies p = policies(tmp.resolve("policies"), "");
        DatasetRegistry empty = new DatasetRegistry(Files.createDirectories(tmp.resolve("datasets")), Clock.systemUTC());
        RecordedInputs r = new RecordedInputs("{}", "gone", Digest.of("x"), IMAGE, "d", Digest.of("y"));
        List<Violation> changed = InputCheck.changes(r, p, empty, image -> image);
        assertEquals(2, changed.size(), changed.toString());
        assertTrue(changed.get(0).reason().contains("policy 'gone' no longer exists"));
        assertTrue(changed.get(1).reason().contains("dataset 'd' is not registered"));
    }
}
