package dev.cloister.dataset;

import dev.cloister.digest.Digest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Content digest of a dataset directory, reproducible with coreutils:
 * {@code cd DIR && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum}.
 * Symlinks and special files are refused, so the digest covers exactly what a job can read.
 */
final class DatasetDigest {

    /**
     * @param fileDigests every regular file (relative POSIX path, in code-point order) with its lowercase hex
     *                    SHA-256: what a signed manifest is checked against, without reading the data twice
     */
    record Result(Digest digest, long files, long bytes, Map<String, String> fileDigests) {
        Result {
            fileDigests = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fileDigests));
        }
    }

    private DatasetDigest() {
    }

    static Result of(Path dir) throws IOException {
        List<String> paths = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isSymbolicLink(p)) {
                    throw new IOException("dataset contains a symlink: " + dir.relativize(p));
                }
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    paths.add(dir.relativize(p).toString());
                } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IOException("dataset contains a special file: " + dir.relativize(p));
                }
            }
        }
        // Code-point order of UTF-8 paths equals C-locale byte order.
        paths.sort(String::compareTo);
        MessageDigest listing = Digest.sha256();
        Map<String, String> fileDigests = new LinkedHashMap<>();
        long bytes = 0;
        byte[] buf = new byte[1 << 16];
        for (String rel : paths) {
            MessageDigest file = Digest.sha256();
            try (InputStream in = Files.newInputStream(dir.resolve(rel), LinkOption.NOFOLLOW_LINKS)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    file.update(buf, 0, n);
                    bytes += n;
                }
            }
            String hex = HexFormat.of().formatHex(file.digest());
            fileDigests.put(rel, hex);
            listing.update((hex + "  " + rel + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new Result(Digest.ofRaw(listing.digest()), paths.size(), bytes, fileDigests);
    }
}
