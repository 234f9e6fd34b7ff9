package dev.cloister.sandbox;

import dev.cloister.sandbox.RunResult.OutputFile;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Copies what a job left in {@code /out} into its artifact directory: regular files only, never following links,
 * within the output cap, and in one atomic rename so that nobody sees half a directory. Everything refused is
 * listed with its reason; the job's own {@code failure} file (SageMaker contract) is read as well as copied.
 */
final class OutputCollector {

    private static final Logger LOG = Logger.getLogger(OutputCollector.class);

    static final String FAILURE_FILE = "failure";
    static final int FAILURE_CAP = 4096;
    static final int MAX_ENTRIES = 100_000;

    /** What was collected, refused, and the job's failure text (null when it wrote none). */
    record Collected(List<OutputFile> outputs, List<String> problems, String failure) {
    }

    private OutputCollector() {
    }

    static Collected collect(Path outDir, Path artifactDir, long cap) throws SandboxException {
        Path target = artifactDir.toAbsolutePath().normalize();
        Path staging = null;
        try {
            Files.createDirectories(target.getParent());
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !isEmptyDirectory(target)) {
                throw new SandboxException(SandboxException.Kind.OUTPUT, "the artifact directory already has content");
            }
            staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp-");
            Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
            Collected c = copy(outDir, staging, cap);
            // rename(2) replaces an empty directory, so a caller may create the artifact directory beforehand.
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            staging = null;
            return c;
        } catch (IOException e) {
            // The detail names host paths: it goes to Cloister's log, not to the job's owner.
            LOG.warnf("collecting %s into %s failed: %s", outDir, target, Messages.brief(e));
            throw new SandboxException(SandboxException.Kind.OUTPUT, "collecting the job's outputs failed"
                    + (noSpace(e) ? ": no space left on the host's artifact store; nothing was kept or sealed"
                    : e instanceof FileSystemException f && f.getReason() != null
                    ? ": " + Messages.printable(f.getReason()) : " (see the server log)"), e);
        } finally {
            if (staging != null) {
                deleteTree(staging);
            }
        }
    }

    // ENOSPC reaches Java as a plain IOException from write(2), or as a FileSystemException's reason.
    private static boolean noSpace(IOException e) {
        String text = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        return text != null && text.contains("No space left on device");
    }

    private static Collected copy(Path outDir, Path staging, long cap) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Entry> entries = list(outDir, problems);
        List<OutputFile> outputs = new ArrayList<>();
        String failure = null;
        long total = 0;
        for (Entry e : entries) {
            String shown = Messages.printable(e.relative);
            Path dest = staging.resolve(e.relative);
            switch (e.type) {
                case DIRECTORY -> {
                    Files.createDirectories(dest);
                    Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
                case REGULAR -> {
                    if (e.relative.equals(FAILURE_FILE)) {
                        failure = readFailure(e.path);
                    }
                    if (total + e.size > cap) {
                        problems.add(shown + ": not collected, the outputs would exceed the output cap of " + cap
                                + " bytes");
                        continue;
                    }
                    long copied = copyFile(e.path, dest, cap - total);
                    total += copied;
                    outputs.add(new OutputFile(e.relative, copied));
                }
                case SYMLINK -> problems.add(shown + ": not collected, symbolic links are not outputs");
                case SPECIAL -> problems.add(shown + ": not collected, devices, FIFOs and sockets are not outputs");
            }
        }
        outputs.sort(Comparator.comparing(OutputFile::path));
        return new Collected(outputs, problems, failure);
    }

    private enum Type { DIRECTORY, REGULAR, SYMLINK, SPECIAL }

    private record Entry(Path path, String relative, Type type, long size) {
    }

    // Lists /out without following links (lstat), sorted by path so that the cap refuses the same files every time.
    private static List<Entry> list(Path outDir, List<String> problems) throws IOException {
        List<Entry> entries = new ArrayList<>();
        Files.walkFileTree(outDir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                if (!dir.equals(outDir)) {
                    if (!add(dir, Type.DIRECTORY, 0)) {
                        return FileVisitResult.TERMINATE;
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                Type type = attrs.isRegularFile() ? Type.REGULAR
                        : attrs.isSymbolicLink() ? Type.SYMLINK
                        : attrs.isDirectory() ? Type.DIRECTORY : Type.SPECIAL;
                return add(file, type, attrs.size()) ? FileVisitResult.CONTINUE : FileVisitResult.TERMINATE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                problems.add(Messages.printable(outDir.relativize(file).toString()) + ": not collected, unreadable ("
                        + Messages.brief(e) + ")");
                return FileVisitResult.CONTINUE;
            }

            private boolean add(Path p, Type type, long size) {
                if (entries.size() >= MAX_ENTRIES) {
                    problems.add("more than " + MAX_ENTRIES + " entries in /out: the rest was not collected");
                    return false;
                }
                entries.add(new Entry(p, outDir.relativize(p).toString(), type, size));
                return true;
            }
        });
        entries.sort(Comparator.comparing(Entry::relative));
        return entries;
    }

    // Opens without following links and copies at most `limit` bytes: the file is the job's, nothing else's.
    private static long copyFile(Path source, Path dest, long limit) throws IOException {
        Files.createDirectories(dest.getParent());
        long copied = 0;
        try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS);
             OutputStream out = Files.newOutputStream(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while (copied < limit && (n = in.read(buf, 0, (int) Math.min(buf.length, limit - copied))) > 0) {
                out.write(buf, 0, n);
                copied += n;
            }
        }
        // The job's mode bits (setuid, world-writable, ...) are not carried over.
        Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rw-r--r--"));
        return copied;
    }

    private static String readFailure(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            head = in.readNBytes(FAILURE_CAP);
        }
        String text = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE)
                .decode(ByteBuffer.wrap(head)).toString();
        return text.strip();
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Left for the operator: a hidden (dot) directory that was never renamed into place.
            LOG.warnf("could not remove the staging directory %s: %s", root, Messages.brief(e));
        }
    }
}
