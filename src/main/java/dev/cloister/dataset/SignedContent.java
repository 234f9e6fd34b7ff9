package dev.cloister.dataset;

import dev.cloister.digest.Digest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * What a dataset's bundle signs. Either the dataset is exactly one file and the bundle signs that file's bytes, or
 * the dataset holds {@value #MANIFEST} at its top level, in {@code sha256sum} format, and the bundle signs the
 * manifest's bytes; then every other file must be listed in it with its digest, and every listed file must exist.
 * So a verified signature always covers every byte a job can read.
 */
final class SignedContent {

    /** The manifest of a multi-file signed dataset, made with {@code find . -type f ! -name MANIFEST.sha256 | sha256sum}. */
    static final String MANIFEST = "MANIFEST.sha256";
    static final int MAX_MANIFEST_BYTES = 16 << 20;
    private static final int MAX_LISTED_PROBLEMS = 5;

    /** The signed file and the SHA-256 of its bytes. */
    record Artifact(String file, byte[] sha256) {
    }

    private SignedContent() {
    }

    /**
     * Finds the signed artifact of the scanned dataset {@code dir}, checking a manifest against the scan's digests.
     *
     * @throws DatasetException with the reason: several files but no manifest, a malformed manifest, or a manifest
     *                          that does not match the files (digest mismatch, missing or unlisted files)
     */
    static Artifact of(Path dir, DatasetDigest.Result scan) throws DatasetException {
        Map<String, String> files = scan.fileDigests();
        if (files.containsKey(MANIFEST)) {
            byte[] manifest = readManifest(dir.resolve(MANIFEST));
            String hex = Digest.of(manifest).hex();
            if (!hex.equals(files.get(MANIFEST))) {
                throw SigstoreCheck.refusal(MANIFEST + " changed while the dataset was being read; try again");
            }
            check(Sha256Manifest.parse(manifest), files);
            return new Artifact(MANIFEST, HexFormat.of().parseHex(hex));
        }
        if (files.size() == 1) {
            Map.Entry<String, String> only = files.entrySet().iterator().next();
            return new Artifact(only.getKey(), HexFormat.of().parseHex(only.getValue()));
        }
        throw SigstoreCheck.refusal("a signed dataset is either exactly one file (the bundle signs its bytes) or has a "
                + MANIFEST + " at its top level listing every other file (the bundle signs the manifest); this one has "
                + files.size() + " files and no " + MANIFEST);
    }

    private static void check(Map<String, String> listed, Map<String, String> files) throws DatasetException {
        List<String> problems = new ArrayList<>();
        if (listed.containsKey(MANIFEST)) {
            problems.add(MANIFEST + " lists itself");
        }
        listed.forEach((path, hex) -> {
            if (path.equals(MANIFEST)) {
                return;
            }
            String actual = files.get(path);
            if (actual == null) {
                problems.add("'" + path + "' is listed but not in the dataset");
            } else if (!actual.equals(hex)) {
                problems.add("'" + path + "' does not match its listed digest (listed sha256:" + hex + ", file sha256:"
                        + actual + ")");
            }
        });
        files.keySet().stream()
                .filter(path -> !path.equals(MANIFEST) && !listed.containsKey(path))
                .forEach(path -> problems.add("'" + path + "' is in the dataset but not listed"));
        if (!problems.isEmpty()) {
            String shown = String.join("; ", problems.subList(0, Math.min(problems.size(), MAX_LISTED_PROBLEMS)));
            int more = problems.size() - MAX_LISTED_PROBLEMS;
            throw SigstoreCheck.refusal(MANIFEST + " does not match the dataset: " + shown
                    + (more > 0 ? "; and " + more + " more" : ""));
        }
    }

    private static byte[] readManifest(Path file) throws DatasetException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] bytes = in.readNBytes(MAX_MANIFEST_BYTES + 1);
            if (bytes.length > MAX_MANIFEST_BYTES) {
                throw SigstoreCheck.refusal(MANIFEST + " is larger than " + MAX_MANIFEST_BYTES + " bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw SigstoreCheck.refusal(MANIFEST + " cannot be read: " + e.getMessage());
        }
    }
}
