package dev.cloister.image;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds on every registry exchange: connecting, one request (headers and body), a whole image build, and the size
 * of what is read back from the registry (untrusted input is capped).
 *
 * <p>Jib's own requests are bounded by the JVM-wide system property {@code jib.httpTimeout} (milliseconds, Jib's
 * default 20 000); {@link ServingImageBuilder} refuses to run when it is set to 0 (no timeout), and bounds the whole
 * build by {@link #buildTimeout()}.
 *
 * @param maxManifestBytes manifests larger than this are refused unread
 * @param maxBlobBytes     signature payloads, attestation envelopes and image configs larger than this are refused
 */
public record RegistryLimits(Duration connectTimeout, Duration requestTimeout, Duration buildTimeout,
                             int maxManifestBytes, int maxBlobBytes) {

    /** Defaults that fit a registry on this host. */
    public static final RegistryLimits DEFAULTS = new RegistryLimits(Duration.ofSeconds(5), Duration.ofSeconds(30),
            Duration.ofMinutes(10), 4 * 1024 * 1024, 16 * 1024 * 1024);

    public RegistryLimits {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(buildTimeout, "buildTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative()
                || requestTimeout.isZero() || buildTimeout.isNegative() || buildTimeout.isZero()) {
            throw new IllegalArgumentException("registry timeouts must be positive");
        }
        if (maxManifestBytes < 1024 || maxBlobBytes < 1024) {
            throw new IllegalArgumentException("registry size caps must be at least 1 KiB");
        }
    }
}
