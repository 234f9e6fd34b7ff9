package dev.cloister.job;

import java.util.EnumSet;
import java.util.Set;

/** The life of a job. Final states never change again. */
public enum JobState {
    QUEUED,
    RUNNING,
    /** The job exited 0 and its outputs were collected; sealing follows at once. */
    SUCCEEDED,
    /** Outputs signed: {@code model.sig} (OMS) and signed SLSA provenance are on disk. */
    SEALED,
    /** The sealed model is in a serving image, pushed to the registry by digest. */
    PACKAGED,
    /** The serving image's signature and attestation are in the registry (cosign layout). */
    PUBLISHED,
    FAILED,
    CANCELLED,
    TIMED_OUT,
    OOM_KILLED;

    private static final Set<JobState> FINAL = EnumSet.of(PUBLISHED, FAILED, CANCELLED, TIMED_OUT, OOM_KILLED);

    public boolean isFinal() {
        return FINAL.contains(this);
    }

    /** Whether moving from this state to {@code next} is allowed. */
    public boolean canMoveTo(JobState next) {
        return switch (this) {
            case QUEUED -> next == RUNNING || next == CANCELLED || next == FAILED;
            case RUNNING -> next == SUCCEEDED || (next.isFinal() && next != PUBLISHED);
            case SUCCEEDED -> next == SEALED || next == FAILED;
            case SEALED -> next == PACKAGED || next == FAILED;
            case PACKAGED -> next == PUBLISHED || next == FAILED;
            default -> false;
        };
    }
}
