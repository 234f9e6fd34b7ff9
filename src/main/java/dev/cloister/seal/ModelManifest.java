package dev.cloister.seal;

import dev.cloister.digest.Digest;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * The OMS v1.0 manifest of a model directory, serialization method {@code files}: every regular file (empty ones
 * included) with its SHA-256, in path order, minus the ignored paths. Symbolic links and special files are errors.
 * See https://github.com/ossf/model-signing-spec (v1.0, "files" serialization).
 *
 * @param name        the model's name, the directory's own name (the statement's subject name)
 * @param resources   every file, relative POSIX path and digest, in path-component order by code point
 * @param ignorePaths the paths left out, as recorded in {@code serialization.ignore_paths}
 */
public record ModelManifest(String name, List<Resource> resources, List<String> ignorePaths) {

    /** Always ignored at the model root (OMS reference tool defaults). */
    public static final List<String> DEFAULT_IGNORE_PATHS = List.of(".git", ".gitattributes", ".github", ".gitignore");

    /** Files hashed in parallel by default. */
    public static final int DEFAULT_HASH_THREADS = 2;

    /** One file of the model: relative POSIX path and SHA-256 of its content. */
    public record Resource(String name, Digest digest) {
        public Resource {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(digest, "digest");
        }
    }

    public ModelManifest {
        Objects.requireNonNull(name, "name");
        resources = List.copyOf(resources);
        ignorePaths = List.copyOf(ignorePaths);
        for (int i = 1; i < resources.size(); i++) {
            if (PathOrder.INSTANCE.compare(resources.get(i - 1).name(), resources.get(i).name()) >= 0) {
                throw new IllegalArgumentException("resources must be unique and in path order: '"
                        + resources.get(i - 1).name() + "' before '" + resources.get(i).name() + "'");
            }
        }
    }

    /** Hashes {@code modelDir} with {@link #DEFAULT_HASH_THREADS} threads. */
    public static ModelManifest hash(Path modelDir, Collection<String> extraIgnorePaths) throws SealException {
        return hash(modelDir, extraIgnorePaths, DEFAULT_HASH_THREADS);
    }

    /**
     * Hashes every file of {@code modelDir} that is not ignored: the {@link #DEFAULT_IGNORE_PATHS} plus
     * {@code extraIgnorePaths} (such as the signature and provenance file names), relative to the model root.
     *
     * @throws SealException listing every symbolic link, special file or unreadable path found
     */
    public static ModelManifest hash(Path modelDir, Collection<String> extraIgnorePaths, int threads)
            throws SealException {
        if (threads < 1) {
            throw new IllegalArgumentException("hashing needs at least one thread");
        }
        Path root = modelDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw new SealException(List.of("model path " + root + " is not a directory (or is a symbolic link)"));
        }
        IgnorePaths ignore = IgnorePaths.of(extraIgnorePaths);
        List<String> files = ModelFiles.list(root, ignore);
        List<Digest> digests = FileHashes.of(root, files, threads);
        List<Resource> resources = new ArrayList<>(files.size());
        for (int i = 0; i < files.size(); i++) {
            resources.add(new Resource(files.get(i), digests.get(i)));
        }
        Path fileName = root.getFileName();
        return new ModelManifest(fileName == null ? "" : fileName.toString(), resources, ignore.list());
    }

    /** SHA-256 of the concatenated raw file digests in listed order: the statement's subject digest. */
    public Digest rootDigest() {
        return rootDigestOf(resources.stream().map(Resource::digest).toList());
    }

    /** SHA-256 of the concatenated raw digests, in the order given. */
    public static Digest rootDigestOf(List<Digest> digests) {
        MessageDigest sha256 = Digest.sha256();
        for (Digest digest : digests) {
            sha256.update(digest.raw());
        }
        return Digest.ofRaw(sha256.digest());
    }

}
