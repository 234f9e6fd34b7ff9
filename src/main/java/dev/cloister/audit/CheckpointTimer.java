package dev.cloister.audit;

import dev.cloister.keys.Signer;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Signs the audit log's uncovered entries every {@link AuditLog.Checkpoints#interval()}, so that a quiet host does not
 * leave its last entries unsigned for long; closing it signs once more, so a clean shutdown leaves the whole log
 * covered.
 */
public final class CheckpointTimer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CheckpointTimer.class);
    private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(10);

    private final AuditLog log;
    private final ScheduledExecutorService executor;

    private CheckpointTimer(AuditLog log, ScheduledExecutorService executor) {
        this.log = log;
        this.executor = executor;
    }

    /** Gives {@code log} its signer and starts the timer. */
    public static CheckpointTimer start(AuditLog log, Supplier<Signer> signer) {
        log.signCheckpointsWith(signer);
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "audit-checkpoints");
            t.setDaemon(true);
            return t;
        });
        long every = log.checkpoints().interval().toMillis();
        executor.scheduleWithFixedDelay(() -> checkpoint(log), every, every, TimeUnit.MILLISECONDS);
        return new CheckpointTimer(log, executor);
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("audit checkpoint timer did not stop in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        checkpoint(log);
    }

    @Override
    public String toString() {
        return "CheckpointTimer[every " + log.checkpoints().interval() + "]";
    }

    private static void checkpoint(AuditLog log) {
        try {
            log.checkpoint();
        } catch (RuntimeException e) {
            LOG.errorf("audit checkpoint failed: %s; the next tick retries", e.getMessage());
        }
    }
}
