package dev.cloister.audit;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.vertx.core.Context;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The audit log in the service's database (table {@code audit_entries}, Flyway migration V2): one row per entry, the
 * line stored exactly as written so that an export is byte for byte what was hashed and signed. Each append commits
 * in a transaction of its own: an entry outlives a rollback of whatever work it describes, and the chain in memory
 * never runs ahead of what is stored.
 */
public final class DatabaseAuditStore implements AuditStore {

    /** Rows read per query during an export, so that a long log is never loaded whole. */
    private static final int PAGE = 1000;

    @Override
    public Head open() throws IOException {
        return QuarkusTransaction.joiningExisting().call(() -> {
            AuditRow last = AuditRow.<AuditRow>find("order by seq desc").firstResult();
            if (last == null) {
                return Head.EMPTY;
            }
            Long checkpoint = AuditRow.getEntityManager().createQuery(
                            "select max(a.seq) from AuditRow a where a.action = ?1", Long.class)
                    .setParameter(1, Checkpoint.ACTION).getSingleResult();
            return new Head(last.line, last.seq - (checkpoint == null ? 0 : checkpoint));
        });
    }

    /** How long a write handed off the event loop may take before the entry counts as not written. */
    private static final Duration HANDOFF_TIMEOUT = Duration.ofSeconds(10);

    // One daemon thread: entries are written in the order the log hands them over.
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "audit-writer");
        t.setDaemon(true);
        return t;
    });

    @Override
    public void append(long seq, String action, String line) throws IOException {
        if (!Context.isOnEventLoopThread()) {
            insert(seq, action, line);
            return;
        }
        // Refusals at the security layer (401/403) are mapped on the event loop, where no transaction may start.
        // The row is written on a worker and waited for (about a millisecond, as the file's fsync once was), so the
        // entry is stored before the answer goes out.
        Future<?> written = writer.submit(() -> {
            insert(seq, action, line);
            return null;
        });
        try {
            written.get(HANDOFF_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (TimeoutException e) {
            written.cancel(true);
            throw new IOException("audit entry " + seq + " was not written within " + HANDOFF_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing audit entry " + seq, e);
        }
    }

    private static void insert(long seq, String action, String line) throws IOException {
        try {
            QuarkusTransaction.requiringNew().run(() -> {
                AuditRow row = new AuditRow();
                row.seq = seq;
                row.action = action;
                row.line = line;
                row.persist();
            });
        } catch (RuntimeException e) {
            throw new IOException("the database refused audit entry " + seq + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void read(long upTo, AuditLog.LineSink sink) throws IOException {
        long after = 0;
        while (after < upTo) {
            long from = after;
            List<AuditRow> page = QuarkusTransaction.joiningExisting().call(() -> AuditRow.<AuditRow>find(
                    "seq > ?1 and seq <= ?2 order by seq", from, upTo).page(0, PAGE).list());
            if (page.isEmpty()) {
                return;
            }
            for (AuditRow row : page) {
                sink.accept(row.line);
                after = row.seq;
            }
        }
    }

    @Override
    public String toString() {
        return "database table audit_entries";
    }
}
