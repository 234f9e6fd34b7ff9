package dev.cloister.job;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** A row of {@code job_transitions}: one state change of one job, numbered in order by {@code seq}. */
@Entity
@Table(name = "job_transitions")
class TransitionRow extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;
    @Column(name = "job_id", nullable = false, length = 64)
    public String jobId;
    @Column(nullable = false)
    public int seq;
    @Column(name = "from_state", length = 16)
    public String fromState;
    @Column(name = "to_state", nullable = false, length = 16)
    public String toState;
    @Column(nullable = false)
    public Instant at;
    @Column(length = JobRow.LONG_TEXT)
    public String reason;
}
