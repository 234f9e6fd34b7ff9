package dev.cloister.seal;

import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

class ModelManifestTest {

    @TempDir
    Path tmp;

    static void requireUtf8FileNames() {
        String encoding = System.getProperty("sun.jnu.encoding");
        if (!"UTF-8".equalsIgnoreCase(encoding)) {
            fail("the JVM decodes file names as " + encoding + ", so non-ASCII model file names cannot be "
                    + "represented: run the tests with a UTF-8 locale (e.g. LANG=C.UTF-8)");
        }
    }

    static Path write(Path root, String name, String content) throws Exception {
        Path file = root.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }

    private static List<String> names(ModelManifest manifest) {
        return manifest.resources().stream().map(ModelManifest.Resource::name).toList();
    }

    @Test
    void listsRegularFilesInPathOrderWithTheirDigests() throws Exception {
        requireUtf8FileNames();
        Path model = tmp.resolve("my-model");
        write(model, "sub-b.txt", "b");
        write(model, "sub/a.txt", "a");
        write(model, "modèle-ü.bin", "non-ascii");
        write(model, "empty", "");
        Files.createDirectories(model.resolve("empty-dir"));

        ModelManifest manifest = ModelManifest.hash(model, List.of());

        assertEquals("my-model", manifest.name());
        assertEquals(List.of("empty", "modèle-ü.bin", "sub/a.txt", "sub-b.txt"), names(manifest));
        assertEquals(Digest.of(""), manifest.resources().get(0).digest(), "empty files are included");
        assertEquals(Digest.of("a"), manifest.resources().get(2).digest());
        assertEquals(ModelManifest.DEFAULT_IGNORE_PATHS, manifest.ignorePaths());
    }

    @Test
    void rootDigestIsTheSha256OfTheConcatenatedRawDigests() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "a", "1");
        write(model, "b", "2");
        ByteArrayOutputStream concatenated = new ByteArrayOutputStream();
        concatenated.writeBytes(Digest.of("1").raw());
        concatenated.writeBytes(Digest.of("2").raw());
        assertEquals(Digest.of(concatenated.toByteArray()), ModelManifest.hash(model, List.of()).rootDigest());
    }

    @Test
    void ignoresGitFilesAtTheRootOnlyAndTheGivenPaths() throws Exception {
        Path model = tmp.resolve("m");
        write(model, ".git/HEAD", "ref");
        write(model, ".gitignore", "x");
        write(model, ".gitattributes", "x");
        write(model, ".github/workflows/ci.yml", "x");
        write(model, "nested/.git/HEAD", "kept: not at the root");
        write(model, "model.sig", "signature");
        write(model, "provenance/bundle.json", "provenance");
        write(model, "weights.bin", "w");

        ModelManifest manifest = ModelManifest.hash(model, List.of("model.sig", "provenance/"));

        assertEquals(List.of("nested/.git/HEAD", "weights.bin"), names(manifest));
        assertEquals(List.of(".git", ".gitattributes", ".github", ".gitignore", "model.sig", "provenance"),
                manifest.ignorePaths());
    }

    @Test
    void symbolicLinksAndOtherNonRegularFilesAreErrors() throws Exception {
        Path model = tmp.resolve("m");
        write(model, "weights.bin", "w");
        Files.createSymbolicLink(model.resolve("link.bin"), model.resolve("weights.bin"));
        Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(model.resolve("dir-link"), tmp.resolve("elsewhere"));

        SealException e = assertThrows(SealException.class, () -> ModelManifest.hash(model, List.of()));

        assertEquals(List.of("symbolic link not allowed in a model: dir-link",
                "symbolic link not allowed in a model: link.bin"), e.problems().stream().sorted().toList());
    }

    @Test
    void theModelPathMustBeADirectory() throws Exception {
        Path file = write(tmp, "file", "x");
        SealException e = assertThrows(SealException.class, () -> ModelManifest.hash(file, List.of()));
        assertEquals(List.of("model path " + file + " is not a directory (or is a symbolic link)"), e.problems());
    }

    @Test
    void largeFilesStreamAndThreadCountDoesNotChangeTheResult() throws Exception {
        Path model = tmp.resolve("m");
        byte[] big = new byte[3 * FileHashes.BUFFER_BYTES * 16 + 17];
        new Random(42).nextBytes(big);
        Files.createDirectories(model);
        Files.write(model.resolve("big.bin"), big);
        for (int i = 0; i < 20; i++) {
            write(model, "shard-" + i, "content " + i);
        }
        ModelManifest one = ModelManifest.hash(model, List.of(), 1);
        ModelManifest four = ModelManifest.hash(model, List.of(), 4);
        assertEquals(one, four);
        assertEquals(Digest.of(big), one.resources().get(0).digest());
    }

    @Test
    void ignorePathsMustStayInsideTheModel() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelManifest.hash(tmp, List.of("../secrets")));
        assertEquals("ignore path '../secrets' must be a normalised relative path", e.getMessage());
    }
}
