package dev.cloister.build;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading an untrusted context tar: what is refused, and a digest that depends on content only. */
class BuildContextTest {

    private static final BuildContext.Limits LIMITS = new BuildContext.Limits(1 << 20, 100);

    /** One tar entry to write: a file (content), a directory, a link or a special file. */
    private record E(String name, byte type, String content, int mode, long time) {
        static E file(String name, String content) {
            return new E(name, TarArchiveEntry.LF_NORMAL, content, 0644, 1_000_000L);
        }

        static E of(String name, byte type, String linkOrContent) {
            return new E(name, type, linkOrContent, 0644, 1_000_000L);
        }
    }

    private static byte[] tar(List<E> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (E e : entries) {
                TarArchiveEntry entry = new TarArchiveEntry(e.name(), e.type(), e.name().startsWith("/") || e.name().contains(".."));
                entry.setModTime(e.time());
                if (e.type() == TarArchiveEntry.LF_NORMAL) {
                    entry.setSize(e.content().getBytes(StandardCharsets.UTF_8).length);
                    entry.setMode(0100000 | e.mode());
                } else if (e.type() == TarArchiveEntry.LF_SYMLINK || e.type() == TarArchiveEntry.LF_LINK) {
                    entry.setLinkName(e.content());
                }
                tar.putArchiveEntry(entry);
                if (e.type() == TarArchiveEntry.LF_NORMAL) {
                    tar.write(e.content().getBytes(StandardCharsets.UTF_8));
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
        return out.toByteArray();
    }

    private static BuildContext read(List<E> entries, Path into) throws Exception {
        return BuildContext.read(new ByteArrayInputStream(tar(entries)), into, LIMITS);
    }

    private static List<String> refused(List<E> entries, Path into) {
        BuildException e = assertThrows(BuildException.class, () -> read(entries, into));
        List<String> reasons = new ArrayList<>();
        e.violations().forEach(v -> reasons.add(v.reason()));
        if (reasons.isEmpty()) {
            reasons.add(e.getMessage());
        }
        return reasons;
    }

    @Test
    void digestIgnoresOrderTimesAndDirectoryEntriesButNotContentOrMode(@TempDir Path tmp) throws Exception {
        List<E> a = List.of(E.file("Dockerfile", "FROM x\n"), E.of("src/", TarArchiveEntry.LF_DIR, ""),
                E.file("src/train.py", "print(1)\n"));
        List<E> b = List.of(new E("src/train.py", TarArchiveEntry.LF_NORMAL, "print(1)\n", 0644, 9_999_999L),
                E.file("./Dockerfile", "FROM x\n"));
        try (BuildContext ca = read(a, tmp.resolve("a")); BuildContext cb = read(b, tmp.resolve("b"))) {
            assertEquals(ca.digest(), cb.digest());
            assertEquals("file 0644 " + dev.cloister.digest.Digest.of("FROM x\n").hex() + " Dockerfile\nfile 0644 "
                    + dev.cloister.digest.Digest.of("print(1)\n").hex() + " src/train.py\n", BuildContext.manifest(ca.entries()));
            assertEquals(dev.cloister.digest.Digest.of(BuildContext.manifest(ca.entries())), ca.digest());
        }
        try (BuildContext tampered = read(List.of(E.file("Dockerfile", "FROM x\n"), E.file("src/train.py", "print(2)\n")),
                tmp.resolve("c"));
             BuildContext chmod = read(List.of(E.file("Dockerfile", "FROM x\n"), new E("src/train.py",
                     TarArchiveEntry.LF_NORMAL, "print(1)\n", 0755, 0)), tmp.resolve("d"));
             BuildContext original = read(a, tmp.resolve("e"))) {
            assertNotEquals(original.digest(), tampered.digest(), "one changed byte changes the digest");
            assertNotEquals(original.digest(), chmod.digest(), "the mode is part of the digest");
        }
    }

    @Test
    void theCliTarOfADirectoryDigestsLikeTheDirectory(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(dir.resolve("Dockerfile"), "FROM x\n");
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/a.txt"), "a");
        Files.createSymbolicLink(dir.resolve("link"), Path.of("sub/a.txt"));
        byte[] first = BuildContext.tarDirectory(dir);
        Files.setLastModifiedTime(dir.resolve("sub/a.txt"), java.nio.file.attribute.FileTime.fromMillis(0));
        assertTrue(java.util.Arrays.equals(first, BuildContext.tarDirectory(dir)), "times do not reach the tar");
        try (BuildContext c = BuildContext.read(new ByteArrayInputStream(first), tmp.resolve("x"), LIMITS)) {
            assertEquals(List.of("Dockerfile", "link", "sub/a.txt"), c.entries().stream().map(BuildContext.Entry::path).toList());
            assertEquals(BuildContext.Kind.SYMLINK, c.entries().get(1).kind());
        }
    }

    @Test
    void traversalAbsolutePathsAndEscapingLinksAreRefusedByName(@TempDir Path tmp) {
        List<String> r = refused(List.of(E.file("Dockerfile", "FROM x"), E.file("../evil", "x"),
                E.file("/etc/cron.d/x", "x"), E.of("up", TarArchiveEntry.LF_SYMLINK, "../../etc/passwd"),
                E.of("abs", TarArchiveEntry.LF_SYMLINK, "/etc/shadow"), E.of("here", TarArchiveEntry.LF_SYMLINK, "."),
                E.of("sneaky", TarArchiveEntry.LF_SYMLINK, "here/.."), E.of("hard", TarArchiveEntry.LF_LINK, "/etc/passwd")),
                tmp.resolve("c"));
        String all = String.join("\n", r);
        assertTrue(all.contains("../evil: '..' in a build context path"), all);
        assertTrue(all.contains("/etc/cron.d/x: absolute path"), all);
        assertTrue(all.contains("up: symbolic link to '../../etc/passwd' leaves the build context"), all);
        assertTrue(all.contains("abs: symbolic link to '/etc/shadow' leaves the build context"), all);
        assertTrue(all.contains("sneaky: symbolic link to 'here/..' leaves the build context"), all);
        assertTrue(all.contains("hard: hard link to '/etc/passwd'"), all);
        assertFalse(all.contains("here: "), "a link to the context root stays inside: " + all);
        assertFalse(Files.exists(tmp.resolve("evil")) || Files.exists(tmp.resolve("c/up")), "nothing written outside, no link made");
    }

    @Test
    void nothingIsWrittenThroughALink(@TempDir Path tmp) {
        List<String> r = refused(List.of(E.file("Dockerfile", "FROM x"), E.of("d", TarArchiveEntry.LF_SYMLINK, "sub"),
                E.file("d/x", "x")), tmp.resolve("c"));
        assertTrue(String.join("\n", r).contains("d/x: path goes through the symbolic link d"), r.toString());
    }

    @Test
    void devicesAndFifosAreRefused(@TempDir Path tmp) {
        List<String> r = refused(List.of(E.file("Dockerfile", "FROM x"), E.of("null", TarArchiveEntry.LF_CHR, ""),
                E.of("pipe", TarArchiveEntry.LF_FIFO, "")), tmp.resolve("c"));
        assertTrue(r.get(0).contains("null: a character device is not allowed"), r.toString());
        assertTrue(r.get(1).contains("pipe: a FIFO is not allowed"), r.toString());
    }

    @Test
    void aContextOverTheCapIsRefusedWithoutReadingItAll(@TempDir Path tmp) {
        String big = "x".repeat(700_000);
        BuildException e = assertThrows(BuildException.class, () -> read(List.of(E.file("Dockerfile", "FROM x"),
                E.file("a", big), E.file("b", big)), tmp.resolve("c")));
        assertEquals(BuildException.Kind.TOO_LARGE, e.kind());
        assertTrue(e.getMessage().contains("larger than 1048576 bytes"), e.getMessage());
    }

    @Test
    void aContextWithoutADockerfileIsRefused(@TempDir Path tmp) {
        assertTrue(refused(List.of(E.file("train.py", "x")), tmp.resolve("c")).get(0).contains("no Dockerfile"));
    }
}
