package dev.cloister.build;

import dev.cloister.digest.Digest;
import dev.cloister.seal.PathOrder;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A training image's build context, read from an untrusted tar, checked and kept on disk: regular files and
 * symbolic links that stay inside it, nothing else. Refused, with the entry named: absolute paths, {@code ..},
 * symbolic or hard links that leave the context, devices, FIFOs, names with control characters, more than the
 * byte or entry cap.
 *
 * <p>The <b>context digest</b> does not depend on how the tar was made (entry order, times, owners, directory
 * entries): it is the SHA-256 of the canonical manifest, one line per file or link in path order (by path
 * components, code point by code point, as in OMS), {@code <kind> <mode> <sha256> <path>\n}, where kind is
 * {@code file} or {@code symlink}, mode the four-digit octal permission bits ({@code 0777} for links), and the
 * digest that of the file's bytes or of the link's target text. Directories are left out: the tar that reaches the
 * engine ({@link #writeTar}) holds no directory entries, so the engine creates each parent 0755, owned by root,
 * whatever the uploaded tar said; owners and times are normalised the same way. What is digested is exactly what
 * is built.
 */
public final class BuildContext implements AutoCloseable {

    /** The Dockerfile's fixed name at the context root. */
    public static final String DOCKERFILE = "Dockerfile";

    /** One file or link of the context. */
    public record Entry(String path, Kind kind, int mode, Digest digest, String linkTarget, long size) {
    }

    public enum Kind { FILE, SYMLINK }

    /** Caps on an uploaded context. */
    public record Limits(long maxBytes, int maxEntries) {
    }

    private static final int MAX_PATH = 1024;
    private static final long FIXED_TIME_MILLIS = 315_532_800_000L; // 1980-01-01, as SOURCE_DATE_EPOCH

    private final Path root;
    private final List<Entry> entries;
    private final Digest digest;
    private final List<dev.cloister.policy.Violation> problems;

    private BuildContext(Path root, List<Entry> entries, List<dev.cloister.policy.Violation> problems) {
        this.root = root;
        this.entries = List.copyOf(entries);
        this.digest = Digest.of(manifest(entries));
        this.problems = List.copyOf(problems);
    }

    /**
     * Reads a tar (uncompressed) into {@code into}, which must be an empty directory the caller owns and removes
     * ({@link #close} does). Stops reading as soon as a cap is passed.
     */
    public static BuildContext read(InputStream tar, Path into, Limits limits) throws BuildException {
        BuildContext context = readAll(tar, into, limits);
        if (!context.problems().isEmpty()) {
            try {
                context.close();
            } catch (IOException e) {
                // Left for the caller's own clean-up of its directory.
            }
            throw new BuildException(context.problems());
        }
        return context;
    }

    /**
     * Like {@link #read}, but a context with problems (a link leaving it, a device, ...) is returned with them, so
     * that they can be reported together with the Dockerfile's; such a context has no link on disk and must never
     * be built. Throws only when the tar is over a cap or unreadable.
     */
    public static BuildContext readAll(InputStream tar, Path into, Limits limits) throws BuildException {
        Map<String, Entry> byPath = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        long total = 0;
        int count = 0;
        try (TarArchiveInputStream in = new TarArchiveInputStream(new CappedInput(tar, limits.maxBytes()))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                if (++count > limits.maxEntries()) {
                    throw new BuildException(BuildException.Kind.TOO_LARGE, "the build context has more than "
                            + limits.maxEntries() + " entries");
                }
                String name = e.getName();
                String path = normalise(name, problems);
                if (path == null) {
                    continue;
                }
                if (e.isDirectory()) {
                    continue; // parents are made by the engine; see the class comment
                }
                if (byPath.containsKey(path)) {
                    problems.add(path + ": appears twice in the tar");
                    continue;
                }
                if (e.isSymbolicLink()) {
                    // Made on disk only once every entry is read and every link checked: nothing is ever written
                    // through a link.
                    String target = e.getLinkName();
                    byPath.put(path, new Entry(path, Kind.SYMLINK, 0777, Digest.of(target), target, 0));
                } else if (e.isLink()) {
                    // A hard link is a second name for a file read before it; anything else leaves the context.
                    String target = normalise(e.getLinkName(), new ArrayList<>());
                    Entry original = target == null ? null : byPath.get(target);
                    if (original == null || original.kind() != Kind.FILE) {
                        problems.add(path + ": hard link to '" + e.getLinkName() + "', which is not a file earlier in"
                                + " the build context");
                        continue;
                    }
                    Path copy = into.resolve(path);
                    Files.createDirectories(copy.getParent());
                    Files.copy(into.resolve(target), copy);
                    byPath.put(path, new Entry(path, Kind.FILE, e.getMode() & 07777, original.digest(), null,
                            original.size()));
                } else if (regular(e)) {
                    total += e.getSize();
                    if (total > limits.maxBytes()) {
                        throw new BuildException(BuildException.Kind.TOO_LARGE, "the build context is larger than "
                                + limits.maxBytes() + " bytes");
                    }
                    Path file = into.resolve(path);
                    Files.createDirectories(file.getParent());
                    MessageDigest sha256 = Digest.sha256();
                    try (OutputStream out = Files.newOutputStream(file)) {
                        new DigestInputStream(in, sha256).transferTo(out);
                    }
                    byPath.put(path, new Entry(path, Kind.FILE, e.getMode() & 07777, Digest.ofRaw(sha256.digest()),
                            null, e.getSize()));
                } else {
                    problems.add(path + ": " + kind(e) + " is not allowed in a build context (regular files and"
                            + " links inside it only)");
                }
            }
        } catch (CappedInput.Exceeded e) {
            throw new BuildException(BuildException.Kind.TOO_LARGE, "the build context is larger than "
                    + limits.maxBytes() + " bytes");
        } catch (IOException | IllegalArgumentException e) {
            throw new BuildException(BuildException.Kind.REFUSED, "the build context is not a readable tar: "
                    + e.getMessage());
        }
        Map<String, String> links = new HashMap<>();
        byPath.values().stream().filter(e -> e.kind() == Kind.SYMLINK).forEach(e -> links.put(e.path(), e.linkTarget()));
        for (Entry e : byPath.values()) {
            String through = linkPrefix(e.path(), links);
            if (through != null) {
                problems.add(e.path() + ": path goes through the symbolic link " + through);
            } else if (e.kind() == Kind.SYMLINK && escapes(e.path(), e.linkTarget(), links)) {
                problems.add(e.path() + ": symbolic link to '" + e.linkTarget() + "' leaves the build context");
            }
        }
        if (!byPath.containsKey(DOCKERFILE) || byPath.get(DOCKERFILE).kind() != Kind.FILE) {
            problems.add(DOCKERFILE + ": the build context has no Dockerfile at its root");
        }
        List<Entry> sorted = new ArrayList<>(byPath.values());
        sorted.sort(Comparator.comparing(Entry::path, PathOrder.INSTANCE));
        if (!problems.isEmpty()) {
            return new BuildContext(into, sorted, problems.stream()
                    .map(p -> new dev.cloister.policy.Violation("context", p)).toList());
        }
        try {
            for (Map.Entry<String, String> link : links.entrySet()) {
                Path at = into.resolve(link.getKey());
                Files.createDirectories(at.getParent());
                Files.createSymbolicLink(at, Path.of(link.getValue()));
            }
        } catch (IOException e) {
            throw new BuildException(BuildException.Kind.REFUSED, "the build context cannot be laid out: " + e.getMessage());
        }
        return new BuildContext(into, sorted, List.of());
    }

    /**
     * Tars {@code dir} deterministically (paths in order, fixed times, owner root, no directory entries), following
     * the same rules as {@link #read}: what the CLI uploads.
     */
    public static byte[] tarDirectory(Path dir) throws IOException {
        Path base = dir.toAbsolutePath().normalize();
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(base)) {
            paths = walk.filter(p -> !p.equals(base) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
        }
        List<String> names = new ArrayList<>();
        paths.forEach(p -> names.add(base.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/")));
        names.sort(PathOrder.INSTANCE);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = newTar(out)) {
            for (String name : names) {
                Path p = base.resolve(name);
                if (Files.isSymbolicLink(p)) {
                    put(tar, name, Kind.SYMLINK, 0777, Files.readSymbolicLink(p).toString(), null, 0);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    int mode = Files.isExecutable(p) ? 0755 : 0644;
                    put(tar, name, Kind.FILE, mode, null, p, Files.size(p));
                } else {
                    throw new IOException(name + " is neither a file nor a link");
                }
            }
            tar.finish();
        }
        return out.toByteArray();
    }

    /** The normalised tar of this context, as the engine receives it. */
    public void writeTar(OutputStream out) throws IOException {
        try (TarArchiveOutputStream tar = newTar(out)) {
            for (Entry e : entries) {
                put(tar, e.path(), e.kind(), e.mode(), e.linkTarget(), root.resolve(e.path()), e.size());
            }
            tar.finish();
        }
    }

    public Digest digest() {
        return digest;
    }

    /** Every reason this context must not be built; empty when it may. */
    public List<dev.cloister.policy.Violation> problems() {
        return problems;
    }

    /** Whether the context has a regular file named {@link #DOCKERFILE} at its root. */
    public boolean hasDockerfile() {
        return entries.stream().anyMatch(e -> e.path().equals(DOCKERFILE) && e.kind() == Kind.FILE);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The Dockerfile's bytes (it was checked to be a regular file at the root). */
    public byte[] dockerfile() throws IOException {
        return Files.readAllBytes(root.resolve(DOCKERFILE));
    }

    public Digest dockerfileDigest() {
        return entries.stream().filter(e -> e.path().equals(DOCKERFILE)).findFirst().orElseThrow().digest();
    }

    /** The canonical manifest whose SHA-256 is the context digest (see the class comment). */
    public static String manifest(List<Entry> entries) {
        StringBuilder m = new StringBuilder();
        for (Entry e : entries) {
            m.append(e.kind() == Kind.FILE ? "file" : "symlink").append(' ')
                    .append(String.format("%04o", e.mode())).append(' ')
                    .append(e.digest().hex()).append(' ')
                    .append(e.path()).append('\n');
        }
        return m.toString();
    }

    /** Removes the context's files. */
    @Override
    public void close() throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static TarArchiveOutputStream newTar(OutputStream out) {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        return tar;
    }

    private static void put(TarArchiveOutputStream tar, String name, Kind kind, int mode, String target, Path file,
                            long size) throws IOException {
        TarArchiveEntry entry;
        if (kind == Kind.SYMLINK) {
            entry = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
            entry.setLinkName(target);
        } else {
            entry = new TarArchiveEntry(name);
            entry.setSize(size);
        }
        entry.setMode((kind == Kind.SYMLINK ? 0120000 : 0100000) | mode);
        entry.setIds(0, 0);
        entry.setNames("root", "root");
        entry.setModTime(FIXED_TIME_MILLIS);
        tar.putArchiveEntry(entry);
        if (kind == Kind.FILE) {
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                in.transferTo(tar);
            }
        }
        tar.closeArchiveEntry();
    }

    // A relative POSIX path inside the context, or null (with the problem recorded).
    private static String normalise(String name, List<String> problems) {
        String n = name.startsWith("./") ? name.substring(2) : name;
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.equals(".")) {
            return null; // the context root itself
        }
        if (n.startsWith("/")) {
            problems.add(name + ": absolute path in the build context");
            return null;
        }
        if (n.length() > MAX_PATH || n.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            problems.add(printable(name) + ": path too long or with control characters");
            return null;
        }
        for (String part : n.split("/", -1)) {
            if (part.equals("..")) {
                problems.add(name + ": '..' in a build context path");
                return null;
            }
            if (part.isEmpty() || part.equals(".")) {
                problems.add(name + ": not a normalised path");
                return null;
            }
        }
        return n;
    }

    /**
     * Whether a link at {@code path} to {@code target} resolves outside the context, following the context's other
     * links (so {@code a -> .} and {@code b -> a/..} is caught); absolute targets and loops count as leaving.
     */
    static boolean escapes(String path, String target, Map<String, String> links) {
        if (target == null || target.isEmpty() || target.startsWith("/")) {
            return true;
        }
        java.util.Deque<String> current = new java.util.ArrayDeque<>(List.of(path.split("/")));
        current.removeLast();
        java.util.Deque<String> rest = new java.util.ArrayDeque<>(List.of(target.split("/")));
        int hops = 0;
        while (!rest.isEmpty()) {
            String part = rest.pollFirst();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (current.isEmpty()) {
                    return true;
                }
                current.removeLast();
                continue;
            }
            current.addLast(part);
            String next = links.get(String.join("/", current));
            if (next != null) {
                if (++hops > 40 || next.isEmpty() || next.startsWith("/")) {
                    return true;
                }
                current.removeLast();
                List<String> parts = List.of(next.split("/"));
                for (int i = parts.size() - 1; i >= 0; i--) {
                    rest.addFirst(parts.get(i));
                }
            }
        }
        return false;
    }

    // The first proper prefix of path that is a link, or null.
    private static String linkPrefix(String path, Map<String, String> links) {
        int slash = -1;
        while ((slash = path.indexOf('/', slash + 1)) > 0) {
            String prefix = path.substring(0, slash);
            if (links.containsKey(prefix)) {
                return prefix;
            }
        }
        return null;
    }

    // Not TarArchiveEntry.isFile(), which says yes to anything that is not a directory (devices and FIFOs too).
    private static boolean regular(TarArchiveEntry e) {
        byte flag = e.getLinkFlag();
        return flag == TarArchiveEntry.LF_NORMAL || flag == TarArchiveEntry.LF_OLDNORM
                || flag == TarArchiveEntry.LF_CONTIG;
    }

    private static String kind(TarArchiveEntry e) {
        if (e.isCharacterDevice()) {
            return "a character device";
        }
        if (e.isBlockDevice()) {
            return "a block device";
        }
        if (e.isFIFO()) {
            return "a FIFO";
        }
        return "an entry of type '" + (char) e.getLinkFlag() + "'";
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> b.append(c < 0x20 || c == 0x7f ? "?" : Character.toString(c)));
        return b.toString();
    }

    /** Stops reading past the cap (tar headers and padding count too), so an endless body is not read whole. */
    private static final class CappedInput extends java.io.FilterInputStream {
        static final class Exceeded extends IOException {
            Exceeded() {
                super("cap exceeded");
            }
        }

        private final long cap;
        private long read;

        CappedInput(InputStream in, long maxContentBytes) {
            super(in);
            // Headers and padding: at most 1.5 KiB per entry in practice; allow a generous margin over the content.
            this.cap = maxContentBytes + Math.max(1 << 20, maxContentBytes / 8);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && ++read > cap) {
                throw new Exceeded();
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            if (n > 0 && (read += n) > cap) {
                throw new Exceeded();
            }
            return n;
        }
    }
}
