package dev.cloister.sandbox;

import dev.cloister.sandbox.RunResult.OutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Collecting /out on the host: regular files only, within the cap, into place in one rename. */
class OutputCollectorTest {

    @TempDir
    Path tmp;

    Path out() throws IOException {
        return Files.createDirectories(tmp.resolve("out"));
    }

    @Test
    void copiesRegularFilesWithTheirTreeAndSortedPaths() throws Exception {
        Path out = out();
        Files.createDirectories(out.resolve("sub/deeper"));
        Files.writeString(out.resolve("sub/deeper/w.bin"), "weights");
        Files.writeString(out.resolve("sub-b.txt"), "b");
        Files.writeString(out.resolve("empty"), "");
        Path artifacts = tmp.resolve("artifacts");

        OutputCollector.Collected c = OutputCollector.collect(out, artifacts, 1 << 20);

        assertEquals(List.of(new OutputFile("empty", 0), new OutputFile("sub-b.txt", 1),
                new OutputFile("sub/deeper/w.bin", 7)), c.outputs());
        assertEquals(List.of(), c.problems());
        assertNull(c.failure());
        assertEquals("weights", Files.readString(artifacts.resolve("sub/deeper/w.bin")));
        try (var siblings = Files.list(tmp)) {
            assertEquals(List.of("artifacts", "out"), siblings.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no staging directory left behind");
        }
    }

    @Test
    void refusesLinksAndSpecialFilesWithAReason() throws Exception {
        Path out = out();
        Files.writeString(out.resolve("ok"), "ok");
        Files.createSymbolicLink(out.resolve("secret"), Path.of("/etc/shadow"));
        Files.createDirectories(out.resolve("d"));
        Files.createSymbolicLink(out.resolve("d/up"), Path.of(".."));
        mkfifo(out.resolve("fifo"));

        OutputCollector.Collected c = OutputCollector.collect(out, tmp.resolve("artifacts"), 1 << 20);

        assertEquals(List.of(new OutputFile("ok", 2)), c.outputs());
        assertEquals(List.of("d/up: not collected, symbolic links are not outputs",
                "fifo: not collected, devices, FIFOs and sockets are not outputs",
                "secret: not collected, symbolic links are not outputs"), c.problems());
        assertFalse(Files.exists(tmp.resolve("artifacts/secret"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void refusesWhatWouldExceedTheCapAndKeepsTheRest() throws Exception {
        Path out = out();
        Files.write(out.resolve("a"), new byte[600]);
        Files.write(out.resolve("b"), new byte[600]);
        Files.write(out.resolve("c"), new byte[300]);

        OutputCollector.Collected c = OutputCollector.collect(out, tmp.resolve("artifacts"), 1000);

        assertEquals(List.of(new OutputFile("a", 600), new OutputFile("c", 300)), c.outputs());
        assertEquals(List.of("b: not collected, the outputs would exceed the output cap of 1000 bytes"), c.problems());
    }

    @Test
    void readsTheFailureFileCappedAndTrimmedAndKeepsItAsAnOutput() throws Exception {
        Path out = out();
        byte[] text = ("\n  out of memory in epoch 3" + " ".repeat(5000) + "tail").getBytes();
        Files.write(out.resolve("failure"), text);

        OutputCollector.Collected c = OutputCollector.collect(out, tmp.resolve("artifacts"), 1 << 20);

        assertEquals("out of memory in epoch 3", c.failure(), "first 4 KiB, trimmed");
        assertEquals(List.of(new OutputFile("failure", text.length)), c.outputs());
    }

    @Test
    void aFailureFileThatIsALinkIsNotRead() throws Exception {
        Path out = out();
        Files.createSymbolicLink(out.resolve("failure"), Path.of("/etc/passwd"));

        OutputCollector.Collected c = OutputCollector.collect(out, tmp.resolve("artifacts"), 1 << 20);

        assertNull(c.failure());
        assertEquals(List.of("failure: not collected, symbolic links are not outputs"), c.problems());
    }

    @Test
    void theJobsModeBitsAreNotCarriedOver() throws Exception {
        Path out = out();
        Path tool = Files.writeString(out.resolve("tool"), "#!/bin/sh\n");
        Files.setAttribute(tool, "unix:mode", 04777); // setuid, world-writable

        OutputCollector.collect(out, tmp.resolve("artifacts"), 1 << 20);

        assertEquals("rw-r--r--", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(tmp.resolve("artifacts/tool"))));
    }

    @Test
    void anEmptyArtifactDirectoryIsReplacedAndOneWithContentRefused() throws Exception {
        Path out = out();
        Files.writeString(out.resolve("x"), "x");
        Path empty = Files.createDirectories(tmp.resolve("empty-artifacts"));
        Path full = Files.createDirectories(tmp.resolve("full-artifacts"));
        Files.writeString(full.resolve("old"), "old");

        OutputCollector.collect(out, empty, 100);
        SandboxException e = assertThrows(SandboxException.class, () -> OutputCollector.collect(out, full, 100));

        assertEquals("x", Files.readString(empty.resolve("x")));
        assertEquals(SandboxException.Kind.OUTPUT, e.kind());
        assertEquals("the artifact directory already has content", e.getMessage());
        assertTrue(Files.exists(full.resolve("old")));
    }

    static void mkfifo(Path p) throws Exception {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).start();
        assertTrue(proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0, "mkfifo");
    }
}
