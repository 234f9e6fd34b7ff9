package dev.cloister.dataset;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** A row of {@code datasets}: one registration (see {@link DatabaseDatasetStore}). */
@Entity
@Table(name = "datasets")
class DatasetRow extends PanacheEntityBase {

    static final int LONG_TEXT = 1_000_000;

    @Id
    @Column(length = 64)
    public String name;
    @Column(nullable = false, length = 64)
    public String team;
    @Column(nullable = false, length = 4096)
    public String directory;
    @Column(nullable = false, length = 71)
    public String digest;
    @Column(nullable = false)
    public long files;
    @Column(nullable = false)
    public long bytes;
    @Column(name = "registered_at", nullable = false)
    public Instant registeredAt;
    @Column(name = "signature_identity", length = 1024)
    public String signatureIdentity;
    @Column(name = "signature_issuer", length = 1024)
    public String signatureIssuer;
    @Column(name = "signature_file", length = 4096)
    public String signatureFile;
    @Column(name = "signature_source", length = 16)
    public String signatureSource;
    @Column(name = "signature_bundle", length = LONG_TEXT)
    public String signatureBundle;
}
