package dev.cloister.dataset;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Sha256ManifestTest {

    private static final String A = "a".repeat(64);
    private static final String B = "B".repeat(64);

    private static Map<String, String> parse(String text) throws DatasetException {
        return Sha256Manifest.parse(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String refused(String text) {
        return assertThrows(DatasetException.class, () -> parse(text)).getMessage();
    }

    @Test
    void readsWhatSha256sumWrites() throws Exception {
        // Text mode (two spaces), binary mode ('*'), find's "./" prefix, upper-case hex, no final newline.
        Map<String, String> m = parse(A + "  train.csv\n" + B + " *./sub/test.csv");
        assertEquals(Map.of("train.csv", A, "sub/test.csv", "b".repeat(64)), m);
        assertEquals(List.of("train.csv", "sub/test.csv"), List.copyOf(m.keySet()), "listed order kept");
        assertEquals(Map.of(), parse(""), "an empty manifest lists nothing");
        assertEquals(Map.of("name with spaces.csv", A), parse(A + "  name with spaces.csv\n"));
    }

    @Test
    void malformedLinesAreRefusedWithTheirNumber() {
        assertTrue(refused(A + "  a\n\n" + A + "  b\n").contains("line 2"));
        assertTrue(refused(A + " a\n").contains("line 1 is not"));
        assertTrue(refused("abc  a\n").contains("line 1 is not"));
        assertTrue(refused("SHA256 (a) = " + A + "\n").contains("line 1 is not"), "BSD tagged format");
        assertTrue(refused(A + "  a\r\n").contains("CR"));
        assertTrue(refused("\\" + A + "  a\\nb\n").contains("escaped"));
    }

    @Test
    void pathsStayInsideTheDataset() {
        for (String path : List.of("/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "dir/", "./")) {
            assertTrue(refused(A + "  " + path + "\n").contains("inside the dataset"), path);
        }
    }

    @Test
    void duplicatesAndNonUtf8AreRefused() {
        assertTrue(refused(A + "  a\n" + B + "  ./a\n").contains("second time"));
        DatasetException e = assertThrows(DatasetException.class,
                () -> Sha256Manifest.parse(new byte[]{'a', ' ', ' ', (byte) 0xff}));
        assertTrue(e.getMessage().contains("UTF-8"));
    }
}
