package dev.cloister.verify;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/** The shared reference vectors, found beside the project checkout ({@code ../shared/test-vectors}). */
final class TestVectors {

    private TestVectors() {
    }

    static Path dir() {
        Path vectors = Path.of("..", "shared", "test-vectors").toAbsolutePath().normalize();
        if (!Files.isDirectory(vectors)) {
            fail("test vectors not found at " + vectors + " (resolved from " + Path.of("").toAbsolutePath()
                    + "): check out shared/ beside the project so that ../shared/test-vectors exists");
        }
        return vectors;
    }

    static Path file(String relative) {
        Path file = dir().resolve(relative);
        if (!Files.exists(file)) {
            fail("test vector " + relative + " is missing from " + dir());
        }
        return file;
    }
}
