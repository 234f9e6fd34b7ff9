package dev.cloister.sandbox;

import java.time.Instant;

/** Told when a job's container is really running, so the job can move to RUNNING at that moment. */
@FunctionalInterface
public interface RunListener {
    void started(String containerId, Instant at);
}
