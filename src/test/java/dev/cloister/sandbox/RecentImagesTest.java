package dev.cloister.sandbox;

import dev.cloister.SettableClock;
import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Admission may reuse a recent "the image is here", never a "not here", and never beyond the recheck interval. */
class RecentImagesTest {

    private static final ImageRef REF = ImageRef.parse("example/trainer@sha256:" + "a".repeat(64));
    private static final Instant T0 = Instant.parse("2026-11-27T12:00:00Z");

    private final List<ImageRef> asked = new ArrayList<>();
    private boolean present = true;

    private ResolvedImage engine(ImageRef ref) throws SandboxException {
        asked.add(ref);
        if (!present) {
            throw new SandboxException(SandboxException.Kind.IMAGE_NOT_FOUND, ref + " is not on this host");
        }
        return new ResolvedImage(ref, Digest.parse("sha256:" + "a".repeat(64)), ResolvedImage.PinKind.IMAGE_ID);
    }

    private static Clock at(Instant t) {
        return Clock.fixed(t, ZoneOffset.UTC);
    }

    @Test
    void aPresentImageIsAskedForOncePerRecheckInterval() throws Exception {
        RecentImages now = new RecentImages(Duration.ofSeconds(10), at(T0));
        now.resolve(REF, this::engine);
        now.resolve(REF, this::engine);
        assertEquals(1, asked.size());
        present = false; // removed meanwhile: admission may not know yet, the run asks again before it starts
        now.resolve(REF, this::engine);
        assertEquals(1, asked.size());
    }

    @Test
    void afterTheIntervalTheEngineIsAskedAgainAndItsNoIsTheAnswer() throws Exception {
        SettableClock clock = new SettableClock(T0);
        RecentImages images = new RecentImages(Duration.ofSeconds(10), clock);
        images.resolve(REF, this::engine);
        clock.set(T0.plusSeconds(9));
        images.resolve(REF, this::engine);
        assertEquals(1, asked.size());
        clock.set(T0.plusSeconds(10));
        present = false;
        SandboxException e = assertThrows(SandboxException.class, () -> images.resolve(REF, this::engine));
        assertEquals(SandboxException.Kind.IMAGE_NOT_FOUND, e.kind());
    }

    @Test
    void aMissingImageIsNeverRemembered() {
        present = false;
        RecentImages images = new RecentImages(Duration.ofSeconds(10), at(T0));
        assertThrows(SandboxException.class, () -> images.resolve(REF, this::engine));
        assertThrows(SandboxException.class, () -> images.resolve(REF, this::engine));
        assertEquals(2, asked.size());
    }

    @Test
    void forgottenOrZeroIntervalMeansAskingTheEngine() throws Exception {
        RecentImages images = new RecentImages(Duration.ofSeconds(10), at(T0));
        images.resolve(REF, this::engine);
        images.forget(REF);
        images.resolve(REF, this::engine);
        RecentImages never = new RecentImages(Duration.ZERO, at(T0));
        never.resolve(REF, this::engine);
        never.resolve(REF, this::engine);
        assertEquals(4, asked.size());
        assertThrows(IllegalArgumentException.class, () -> new RecentImages(Duration.ofSeconds(-1), at(T0)));
    }
}
