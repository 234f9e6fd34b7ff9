package dev.cloister.policy;

import java.time.Duration;

/** Resource caps of a policy or the resources granted to one job. */
public record Limits(ByteSize memory, double cpus, long pids, Duration maxRuntime) {
}
