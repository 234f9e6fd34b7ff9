package dev.cloister.sandbox;

import java.time.Duration;

/**
 * Named bounds on every wait of {@link DockerSandbox}: no engine call, host command or poll waits longer.
 *
 * @param connect  connecting to the engine's socket
 * @param api      one engine API call (inspect, create, start, kill, remove, a log read)
 * @param logDrain how long the job log may keep draining after the container has exited
 * @param mount    one host {@code mount}/{@code umount} command
 * @param poll     interval between state polls while a container runs or stops
 * @param outage   how long a running job waits for an engine that stopped answering (a dockerd restart: live-restore
 *                 keeps the container running meanwhile) before the job fails
 */
public record DockerTimeouts(Duration connect, Duration api, Duration logDrain, Duration mount, Duration poll,
                             Duration outage) {

    public DockerTimeouts {
        requirePositive("connect", connect);
        requirePositive("api", api);
        requirePositive("logDrain", logDrain);
        requirePositive("mount", mount);
        requirePositive("poll", poll);
        requirePositive("outage", outage);
    }

    /** Bounds that suit one local engine on a Unix socket. */
    public static DockerTimeouts defaults() {
        return new DockerTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(10),
                Duration.ofSeconds(10), Duration.ofMillis(250), Duration.ofSeconds(120));
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("timeout '" + name + "' must be a positive duration");
        }
    }
}
