package dev.cloister.job;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A row of {@code seccomp_profiles}: a profile's exact text under its digest, which stored plans refer to. */
@Entity
@Table(name = "seccomp_profiles")
class SeccompProfileRow extends PanacheEntityBase {

    @Id
    @Column(length = 71)
    public String digest;
    @Column(nullable = false)
    public String name;
    @Column(nullable = false, length = JobRow.LONG_TEXT)
    public String json;
}
