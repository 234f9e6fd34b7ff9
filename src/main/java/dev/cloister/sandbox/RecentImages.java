package dev.cloister.sandbox;

import dev.cloister.policy.ImageRef;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Images found on the host in the last {@code recheck}, for admission. A pinned reference always names the same
 * content, so only its presence can change; admission may take a presence up to {@code recheck} old because the run
 * resolves the image again before it creates the container. Asking the engine (one or two inspects) was the largest
 * wait in a submission. Only hits are kept: an image that is not found is looked for again on the next submission.
 */
final class RecentImages {

    private record Seen(ResolvedImage image, Instant at) {
    }

    /** Above this many distinct references, start over rather than grow. */
    private static final int CAPACITY = 4_096;

    private final Map<ImageRef, Seen> seen = new ConcurrentHashMap<>();
    private final Duration recheck;
    private final Clock clock;

    RecentImages(Duration recheck, Clock clock) {
        if (recheck.isNegative()) {
            throw new IllegalArgumentException("the image recheck interval cannot be negative: " + recheck);
        }
        this.recheck = recheck;
        this.clock = clock;
    }

    /** The image as resolved within {@code recheck}, or as {@code resolver} finds it now. */
    ResolvedImage resolve(ImageRef ref, Resolver resolver) throws SandboxException {
        Instant now = clock.instant();
        Seen s = seen.get(ref);
        if (s != null && now.isBefore(s.at.plus(recheck))) {
            return s.image;
        }
        ResolvedImage image = resolver.resolve(ref);
        if (!recheck.isZero()) {
            if (seen.size() >= CAPACITY) {
                seen.clear();
            }
            seen.put(ref, new Seen(image, now));
        }
        return image;
    }

    /** Forgets what was seen of this reference (the engine just said otherwise). */
    void forget(ImageRef ref) {
        seen.remove(ref);
    }

    @FunctionalInterface
    interface Resolver {
        ResolvedImage resolve(ImageRef ref) throws SandboxException;
    }
}
