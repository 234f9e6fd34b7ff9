package dev.cloister.federation;

import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The strict {@code .npz} reader against files numpy 2.4 wrote (test resources, made with np.savez and Python's
 * zipfile), and the deterministic writer.
 */
class NpzTest {

    @TempDir
    Path tmp;

    private static Path resource(String name) {
        return Path.of("src/test/resources/federation", name);
    }

    private static String refused(String name) {
        return refused(resource(name), Npz.Limits.DEFAULT);
    }

    private static String refused(Path file, Npz.Limits limits) {
        return assertThrows(InvalidUpdateException.class, () -> Npz.read(file, limits)).getMessage();
    }

    @Test
    void readsWhatNumpyWrites() throws InvalidUpdateException {
        Map<String, Tensor> w = Npz.read(resource("numpy-savez.npz"), Npz.Limits.DEFAULT).byName();
        assertEquals(List.of("b", "m", "w"), List.copyOf(w.keySet()));
        assertEquals("(30,)", w.get("w").shapeText());
        assertEquals(2.9, w.get("w").values()[29], 1e-15);
        assertArrayEquals(new double[]{0.5}, w.get("b").values());
        assertArrayEquals(new int[]{2, 3}, w.get("m").shape());
        assertArrayEquals(new double[]{0, 1, 2, 3, 4, 5}, w.get("m").values());
        Map<String, Tensor> c = Npz.read(resource("numpy-compressed.npz"), Npz.Limits.DEFAULT).byName();
        assertEquals(w.get("w"), c.get("w"), "savez_compressed (deflate) reads the same");
    }

    @Test
    void writesDeterministicallyAndReadsBack() throws Exception {
        Weights weights = new Weights(List.of(new Tensor("w", new int[]{3}, new double[]{1, -2.5, 1e-300}),
                new Tensor("b", new int[]{1}, new double[]{0.25}), new Tensor("s", new int[]{}, new double[]{7})));
        byte[] one = Npz.write(weights);
        byte[] two = Npz.write(new Weights(List.of(weights.tensors().get(2), weights.tensors().get(0),
                weights.tensors().get(1))));
        assertArrayEquals(one, two, "same weights, same bytes, whatever the order they were given in");
        Path file = tmp.resolve("w.npz");
        Files.write(file, one);
        assertEquals(weights, Npz.read(file, Npz.Limits.DEFAULT));
        // The digest of zeros of the example's shapes never changes (what round 1's input is).
        Weights zeros = Weights.zeros(Map.of("w", new int[]{30}, "b", new int[]{1}));
        assertEquals(Digest.of(Npz.write(zeros)), Digest.of(Npz.write(Weights.zeros(Map.of("b", new int[]{1},
                "w", new int[]{30})))));
        // numpy's layout: each header padded so that the data starts on a 64-byte boundary.
        byte[] npy = Npz.npy(weights.tensors().get(0));
        int headerLength = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
        assertEquals(0, (10 + headerLength) % 64);
    }

    @Test
    void refusesOtherDtypesAndLayouts() {
        assertTrue(refused("float32.npz").contains("dtype '<f4' is not little-endian float64"), refused("float32.npz"));
        assertTrue(refused("big-endian.npz").contains("dtype '>f8' is not little-endian float64"));
        assertTrue(refused("fortran.npz").contains("Fortran order is not accepted"));
        assertTrue(refused("object.npz").contains("dtype '|O' is not little-endian float64"), refused("object.npz"));
    }

    @Test
    void refusesZipTricksBeforeDecompressing() throws Exception {
        assertTrue(refused("traversal.npz").contains("entry '../w.npy' is not named NAME.npy"), refused("traversal.npz"));
        assertTrue(refused("subdir.npz").contains("entry 'a/w.npy' is not named NAME.npy"));
        assertTrue(refused("many.npz").contains("the zip has 100 entries, over the cap of 64"));
        String dup = refused("duplicate.npz");
        assertTrue(dup.contains("appears twice") || dup.contains("entry count does not match"), dup);
        // 32 MiB of zeros in 32 KiB: refused on its declared size, never inflated.
        String bomb = refused(resource("bomb.npz"), new Npz.Limits(1 << 20, 64, 1 << 20));
        assertTrue(bomb.startsWith("entry 'w.npy' declares 33554440 bytes uncompressed, over the cap of 1048576"), bomb);
        assertEquals("the file is 32735 bytes, over the cap of 1024",
                refused(resource("bomb.npz"), new Npz.Limits(1024, 64, 1 << 20)));
        Path junk = tmp.resolve("junk.npz");
        Files.writeString(junk, "not a zip");
        assertEquals("not a readable zip archive", refused(junk, Npz.Limits.DEFAULT));
        Path link = tmp.resolve("link.npz");
        Files.createSymbolicLink(link, resource("numpy-savez.npz").toAbsolutePath());
        assertEquals("not a regular file", refused(link, Npz.Limits.DEFAULT));
    }

    @Test
    void refusesMalformedNpyEntries() {
        byte[] good = Npz.npy(new Tensor("w", new int[]{2}, new double[]{1, 2}));
        assertEquals("array 'w': holds 8 data bytes, shape needs 16", assertThrows(InvalidUpdateException.class,
                () -> Npz.npy("w", Arrays.copyOf(good, good.length - 8))).getMessage());
        byte[] bad = good.clone();
        bad[0] = 'X';
        assertEquals("array 'w': not an .npy file (bad magic)",
                assertThrows(InvalidUpdateException.class, () -> Npz.npy("w", bad)).getMessage());
        byte[] v9 = good.clone();
        v9[6] = 9;
        assertEquals("array 'w': unsupported .npy version 9",
                assertThrows(InvalidUpdateException.class, () -> Npz.npy("w", v9)).getMessage());
        String extra = new String(good, java.nio.charset.StandardCharsets.ISO_8859_1)
                .replace("'shape': (2,), }", "'shape': (2,),'x':1}");
        assertTrue(assertThrows(InvalidUpdateException.class, () -> Npz.npy("w",
                extra.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1))).getMessage()
                .contains("unknown header key 'x'"));
    }
}
