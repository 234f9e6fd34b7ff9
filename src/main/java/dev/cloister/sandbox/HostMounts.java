package dev.cloister.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Host mounts made with util-linux {@code mount}/{@code umount}, each command bounded by a timeout. Cloister runs
 * as root in the engine's mount namespace, so what is mounted here is what the engine binds into containers.
 */
final class HostMounts {

    private static final String MOUNT = "/bin/mount";
    private static final String UMOUNT = "/bin/umount";
    private static final int MAX_OUTPUT = 4096;

    private final Duration timeout;

    HostMounts(Duration timeout) {
        this.timeout = timeout;
    }

    /** Mounts a tmpfs with the given options (e.g. {@code size=…,mode=0700,uid=…,nosuid}) on {@code dir}. */
    void tmpfs(Path dir, String options) throws IOException {
        exec(List.of(MOUNT, "-t", "tmpfs", "-o", options, "tmpfs", dir.toString()));
    }

    /**
     * Binds {@code source} (not recursively: submounts would keep their own, weaker flags) onto {@code target}, then
     * remounts the bind with exactly {@code options} (e.g. {@code ro,nosuid,nodev,noexec}); a plain bind cannot set
     * per-mount flags, only a remount can.
     */
    void bind(Path source, Path target, String options) throws IOException {
        exec(List.of(MOUNT, "--bind", source.toString(), target.toString()));
        try {
            exec(List.of(MOUNT, "-o", "remount,bind," + options, target.toString()));
        } catch (IOException e) {
            unmount(target);
            throw e;
        }
    }

    /** Unmounts {@code dir}; when it is busy, detaches it lazily so the kernel frees it once unused. */
    void unmount(Path dir) throws IOException {
        try {
            exec(List.of(UMOUNT, dir.toString()));
        } catch (IOException busy) {
            exec(List.of(UMOUNT, "-l", dir.toString()));
        }
    }

    private void exec(List<String> command) throws IOException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", command), e);
        }
        if (!done) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within " + timeout.toMillis() + " ms");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): "
                    + Messages.printable(output(p).strip()));
        }
    }

    // The command has exited, so its output (a line or two) is already in the pipe; read at most a few KiB.
    private static String output(Process p) throws IOException {
        try (InputStream in = p.getInputStream()) {
            return new String(in.readNBytes(MAX_OUTPUT), StandardCharsets.UTF_8);
        }
    }
}
