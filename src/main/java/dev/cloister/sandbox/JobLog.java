package dev.cloister.sandbox;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A container's stdout and stderr, streamed into the job's log file and capped at the plan's log size; past the cap
 * one line says so and the rest is drained and dropped, so the job never blocks on its own output.
 *
 * <p>The stream is an attach made before the container starts, not a follow of the engine's json-file log: the
 * engine rotates that file at the plan's log size (its own copy must stay bounded), and a job that prints fast has
 * rotated its first lines away before any follower reads them. An attach sees every byte from the first, and the
 * transport's response timeout does not cut it when a job is quiet.
 */
final class JobLog implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(JobLog.class);
    static final String TRUNCATED = "[cloister] log truncated at ";
    static final String INCOMPLETE = "[cloister] log incomplete: ";

    private final String containerId;
    private final long cap;
    private final String capText;
    private final OutputStream file;
    private final Stream stream = new Stream();
    private long written;
    private boolean truncated;
    private boolean lastWasNewline = true;
    private boolean fileClosed;

    private JobLog(String containerId, OutputStream file, long cap, String capText) {
        this.containerId = containerId;
        this.file = file;
        this.cap = cap;
        this.capText = capText;
    }

    /**
     * Creates (or empties) {@code path} and attaches to the created, not yet started, container's output.
     *
     * @param capText the cap as the plan writes it, for the truncation note
     */
    static JobLog attach(Engine engine, String containerId, Path path, long cap, String capText)
            throws SandboxException {
        return attach(engine, containerId, path, cap, capText, false);
    }

    /**
     * Rewrites {@code path} from the start of the running container's output (the engine keeps a copy) and follows
     * it: what a service that restarted while the job ran needs, so that the log has nothing missing.
     */
    static JobLog replay(Engine engine, String containerId, Path path, long cap, String capText)
            throws SandboxException {
        return attach(engine, containerId, path, cap, capText, true);
    }

    private static JobLog attach(Engine engine, String containerId, Path path, long cap, String capText,
                                 boolean fromStart) throws SandboxException {
        OutputStream out;
        try {
            out = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r-----"));
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "cannot write the job log: " + Messages.brief(e), e);
        }
        JobLog log = new JobLog(containerId, out, cap, capText);
        try {
            engine.docker().attachContainerCmd(containerId)
                    .withStdOut(true).withStdErr(true).withFollowStream(true).withLogs(fromStart)
                    .exec(log.stream);
            if (!log.stream.awaitStarted(engine.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "the Docker engine did not attach to the"
                        + " job's output within " + engine.timeout().toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.discard();
            throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while attaching to the job", e);
        } catch (SandboxException | RuntimeException e) {
            log.discard();
            throw e;
        }
        return log;
    }

    /**
     * Waits up to {@code drain} for the stream to end (the engine ends it when the container exits), notes in the
     * log when it did not end cleanly, and closes the file.
     */
    void finish(Duration drain) {
        boolean ended;
        try {
            ended = stream.awaitCompletion(drain.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = false;
        }
        Throwable failed = stream.failed; // read before closing: our own close may look like a failure
        closeStream();
        if (failed != null) {
            LOG.warnf("the output stream of container %s broke: %s", containerId, Messages.brief(failed));
            note(INCOMPLETE + "the engine's output stream broke");
        } else if (!ended) {
            note(INCOMPLETE + "the output did not end within " + drain.toSeconds() + " s of the exit");
        }
        close();
    }

    private synchronized void append(byte[] b) {
        if (truncated || fileClosed || b.length == 0) {
            return;
        }
        try {
            int fits = (int) Math.min(b.length, cap - written);
            if (fits > 0) {
                file.write(b, 0, fits);
                written += fits;
                lastWasNewline = b[fits - 1] == '\n';
            }
            if (fits < b.length) {
                truncated = true;
                writeNote(TRUNCATED + capText);
            }
            file.flush();
        } catch (IOException e) {
            // A full disk must not stop the job: drop the rest, and say so in Cloister's own log.
            truncated = true;
            LOG.warnf("could not write the log of container %s: %s", containerId, Messages.brief(e));
        }
    }

    private synchronized void note(String line) {
        if (fileClosed) {
            return;
        }
        try {
            writeNote(line);
            file.flush();
        } catch (IOException e) {
            LOG.warnf("could not write the log of container %s: %s", containerId, Messages.brief(e));
        }
    }

    private void writeNote(String line) throws IOException {
        file.write(((lastWasNewline ? "" : "\n") + line + "\n").getBytes(StandardCharsets.UTF_8));
        lastWasNewline = true;
    }

    /** Closes the stream and the file without waiting: for a container that never started. */
    void discard() {
        closeStream();
        close();
    }

    private void closeStream() {
        try {
            stream.close();
        } catch (IOException | RuntimeException e) {
            LOG.debugf("closing the output stream of container %s: %s", containerId, Messages.brief(e));
        }
    }

    @Override
    public synchronized void close() {
        if (!fileClosed) {
            fileClosed = true;
            try {
                file.close();
            } catch (IOException e) {
                LOG.warnf("could not close the log of container %s: %s", containerId, Messages.brief(e));
            }
        }
    }

    /** The attached stream; remembers whether it broke. */
    private final class Stream extends ResultCallback.Adapter<Frame> {
        volatile Throwable failed;

        @Override
        public void onNext(Frame frame) {
            append(frame.getPayload());
        }

        @Override
        public void onError(Throwable t) {
            // Not the adapter's: it logs the throwable with its stack; one line here (in finish) is enough.
            failed = t;
            try {
                close();
            } catch (IOException e) {
                LOG.debugf("closing a broken output stream: %s", Messages.brief(e));
            }
        }
    }
}
