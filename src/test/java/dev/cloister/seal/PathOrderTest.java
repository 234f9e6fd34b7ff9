package dev.cloister.seal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PathOrderTest {

    @Test
    void comparesPathComponentsThenCodePoints() {
        List<String> paths = new ArrayList<>(List.of("sub-b.txt", "😀.bin", "ｚ.bin", "sub/a.txt", "é.txt",
                "Z.txt", "a.txt", "sub/b/c.txt", "sub/a.txt.1", "sub"));
        paths.sort(PathOrder.INSTANCE);
        // '/' separates components: "sub/..." sorts before "sub-b.txt" although '-' < '/' as characters.
        // U+FF5A (ｚ) sorts before U+1F600 (😀) by code point, though not by UTF-16 unit.
        assertEquals(List.of("Z.txt", "a.txt", "sub", "sub/a.txt", "sub/a.txt.1", "sub/b/c.txt", "sub-b.txt",
                "é.txt", "ｚ.bin", "😀.bin"), paths);
    }
}
