package dev.cloister.dataset;

import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrustedRootTest {

    @Test
    void readsTheVectorsTrustedRoot() throws Exception {
        Path file = SigstoreVectors.trustedRootFile();
        TrustedRoot root = TrustedRoot.read("trusted-roots/public-good.json", file);
        assertEquals("trusted-roots/public-good.json", root.name());
        assertEquals(Digest.of(Files.readAllBytes(file)), root.digest());
        assertEquals(root, TrustedRoot.read("trusted-roots/public-good.json", file), "equal by name and digest");
    }

    @Test
    void somethingElseIsRefusedWithTheReason(@TempDir Path tmp) throws Exception {
        assertTrue(refused("missing.json", tmp.resolve("missing.json")).contains("is not a regular file"));
        Files.writeString(tmp.resolve("garbage.json"), "{ not json");
        assertTrue(refused("garbage.json", tmp.resolve("garbage.json")).contains("is not a Sigstore trusted root"));
        Files.writeString(tmp.resolve("empty.json"), "{}");
        assertTrue(refused("empty.json", tmp.resolve("empty.json")).contains("at least one certificate authority"));
        Files.createDirectories(tmp.resolve("dir.json"));
        assertTrue(refused("dir.json", tmp.resolve("dir.json")).contains("is not a regular file"));
        Files.createSymbolicLink(tmp.resolve("link.json"), SigstoreVectors.trustedRootFile());
        assertTrue(refused("link.json", tmp.resolve("link.json")).contains("is a symlink"));
    }

    private static String refused(String name, Path file) {
        String reason = assertThrows(IllegalArgumentException.class, () -> TrustedRoot.read(name, file)).getMessage();
        assertTrue(reason.startsWith("trusted root '" + name + "'"), reason);
        return reason;
    }
}
