package dev.cloister.sandbox;

import dev.cloister.cis.CisResult;

import java.time.Instant;
import java.util.List;

/** Told about a job's container as it goes: configured (before start), then really running. */
@FunctionalInterface
public interface RunListener {

    /** The container exists and has not started: its CIS Docker Benchmark section 5 results, from docker inspect. */
    default void configured(String containerId, List<CisResult> cis) {
    }

    void started(String containerId, Instant at);
}
