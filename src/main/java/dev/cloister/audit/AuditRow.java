package dev.cloister.audit;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A row of {@code audit_entries}: one entry's line exactly as the log wrote it (see {@link DatabaseAuditStore}). */
@Entity
@Table(name = "audit_entries")
class AuditRow extends PanacheEntityBase {

    static final int LONG_TEXT = 1_000_000;

    @Id
    public long seq;
    @Column(nullable = false, length = 64)
    public String action;
    @Column(nullable = false, length = LONG_TEXT)
    public String line;
}
