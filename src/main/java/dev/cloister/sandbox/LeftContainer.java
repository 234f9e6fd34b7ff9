package dev.cloister.sandbox;

/**
 * A container of this host's jobs found on the engine (after a restart): its id, the job id from its label, and
 * whether it still runs.
 */
public record LeftContainer(String containerId, String jobId, boolean running) {
}
