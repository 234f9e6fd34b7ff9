package dev.cloister.audit;

import io.quarkus.narayana.jta.QuarkusTransaction;

import java.io.IOException;
import java.util.List;

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

    @Override
    public void append(long seq, String action, String line) throws IOException {
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
