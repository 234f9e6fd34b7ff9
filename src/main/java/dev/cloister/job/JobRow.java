package dev.cloister.job;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** A row of {@code jobs}: the persistence form of {@link Job} (see {@link JobRows}), plus the job's plan and CIS results. */
@Entity
@Table(name = "jobs")
class JobRow extends PanacheEntityBase {

    static final int LONG_TEXT = 1_000_000;

    @Id
    @Column(length = 64)
    public String id;
    @Column(nullable = false)
    public String policy;
    @Column(name = "policy_digest", nullable = false, length = 71)
    public String policyDigest;
    @Column(name = "seccomp_digest", nullable = false, length = 71)
    public String seccompDigest;
    @Column(nullable = false, length = 32)
    public String runtime;
    @Column(nullable = false, length = 512)
    public String image;
    @Column(name = "image_id", nullable = false, length = 71)
    public String imageId;
    @Column(name = "image_pinned_by", nullable = false, length = 32)
    public String imagePinnedBy;
    public String dataset;
    @Column(name = "dataset_digest", length = 71)
    public String datasetDigest;
    @Column(nullable = false, length = 16)
    public String state;
    @Column(name = "submitted_at", nullable = false)
    public Instant submittedAt;
    @Column(name = "started_at")
    public Instant startedAt;
    @Column(name = "finished_at")
    public Instant finishedAt;
    @Column(name = "exit_code")
    public Integer exitCode;
    @Column(length = LONG_TEXT)
    public String reason;
    @Column(nullable = false, length = LONG_TEXT)
    public String outputs;
    @Column(name = "artifact_dir", length = 4096)
    public String artifactDir;
    @Column(name = "submitted_spec", nullable = false, length = LONG_TEXT)
    public String submittedSpec;
    @Column(name = "model_digest", length = 71)
    public String modelDigest;
    @Column(name = "key_id", length = 64)
    public String keyId;
    @Column(name = "serving_image", length = 1024)
    public String servingImage;
    @Column(nullable = false, length = LONG_TEXT)
    public String plan;
    @Column(length = LONG_TEXT)
    public String cis;
    /** The sealed job this one re-runs (POST /api/v1/jobs/{id}/reproduce), or null. */
    @Column(name = "reproduction_of", length = 64)
    public String reproductionOf;
}
