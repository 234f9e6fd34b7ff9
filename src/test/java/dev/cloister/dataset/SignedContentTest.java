package dev.cloister.dataset;

import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SignedContentTest {

    @TempDir
    Path dir;

    private SignedContent.Artifact artifact() throws Exception {
        return SignedContent.of(dir, DatasetDigest.of(dir));
    }

    private String refused() {
        return assertThrows(DatasetException.class, this::artifact).getMessage();
    }

    private String line(String path) throws Exception {
        return Digest.of(Files.readAllBytes(dir.resolve(path))).hex() + "  " + path + "\n";
    }

    @Test
    void singleFileIsSignedByItsBytes() throws Exception {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/only.csv"), "a,b\n1,2\n");
        SignedContent.Artifact a = artifact();
        assertEquals("sub/only.csv", a.file());
        assertEquals(Digest.of("a,b\n1,2\n").hex(), HexFormat.of().formatHex(a.sha256()));
    }

    @Test
    void manifestListingEveryFileIsTheSignedArtifact() throws Exception {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("train.csv"), "1\n");
        Files.writeString(dir.resolve("sub/test.csv"), "2\n");
        Files.writeString(dir.resolve("empty"), "");
        String manifest = line("train.csv") + line("sub/test.csv") + line("empty");
        Files.writeString(dir.resolve("MANIFEST.sha256"), manifest);

        SignedContent.Artifact a = artifact();

        assertEquals("MANIFEST.sha256", a.file());
        assertEquals(Digest.of(manifest).hex(), HexFormat.of().formatHex(a.sha256()));
    }

    @Test
    void manifestMustMatchEveryFile() throws Exception {
        Files.writeString(dir.resolve("train.csv"), "1\n");
        Files.writeString(dir.resolve("test.csv"), "2\n");
        String good = line("train.csv") + line("test.csv");

        Files.writeString(dir.resolve("MANIFEST.sha256"), line("train.csv"));
        assertTrue(refused().contains("'test.csv' is in the dataset but not listed"), refused());

        Files.writeString(dir.resolve("MANIFEST.sha256"), good + Digest.of("x").hex() + "  missing.csv\n");
        assertTrue(refused().contains("'missing.csv' is listed but not in the dataset"), refused());

        Files.writeString(dir.resolve("MANIFEST.sha256"), good);
        Files.writeString(dir.resolve("test.csv"), "changed\n");
        assertTrue(refused().contains("'test.csv' does not match its listed digest"), refused());

        Files.writeString(dir.resolve("MANIFEST.sha256"), line("train.csv") + line("test.csv")
                + Digest.of("x").hex() + "  MANIFEST.sha256\n");
        assertTrue(refused().contains("lists itself"), refused());
    }

    @Test
    void manyProblemsAreCounted() throws Exception {
        for (int i = 0; i < 8; i++) {
            Files.writeString(dir.resolve("f" + i), "x");
        }
        Files.writeString(dir.resolve("MANIFEST.sha256"), "");
        assertTrue(refused().endsWith("; and 3 more"), refused());
    }

    @Test
    void severalFilesWithoutManifestAreRefused() throws Exception {
        Files.writeString(dir.resolve("a"), "1");
        Files.writeString(dir.resolve("b"), "2");
        assertTrue(refused().contains("has 2 files and no MANIFEST.sha256"));
    }
}
