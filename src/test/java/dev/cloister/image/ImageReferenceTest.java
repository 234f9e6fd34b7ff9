package dev.cloister.image;

import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageReferenceTest {

    private static final Digest D = Digest.of("image");

    @Test
    void parsesTagDigestAndBoth() {
        ImageReference tagged = ImageReference.parse("127.0.0.1:5000/cloister/models/bc:job-1");
        assertEquals("127.0.0.1:5000", tagged.registry());
        assertEquals("cloister/models/bc", tagged.repository());
        assertEquals(Optional.of("job-1"), tagged.tag());
        assertEquals(Optional.empty(), tagged.digest());
        assertEquals("127.0.0.1:5000/cloister/models/bc", tagged.name());
        assertEquals("job-1", tagged.reference());

        ImageReference pinned = ImageReference.parse("127.0.0.1:5000/cloister/serving-base@" + D);
        assertEquals(Optional.of(D), pinned.digest());
        assertEquals(D.toString(), pinned.reference());

        ImageReference both = ImageReference.parse("registry.example.com/a/b:v1@" + D);
        assertEquals(Optional.of("v1"), both.tag());
        assertEquals(D.toString(), both.reference(), "the digest wins over the tag");
        assertEquals("registry.example.com/a/b:v1@" + D, both.toString());
        assertEquals("registry.example.com/a/b@" + D, both.pinned(D).toString());
    }

    @Test
    void refusesNamesWithoutRegistryOrQualifier() {
        var e = assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("cloister/models/bc:1"));
        assertTrue(e.getMessage().contains("names no registry"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("127.0.0.1:5000/cloister/models"));
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("127.0.0.1:5000/Cloister/x:1"));
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("127.0.0.1:5000/x@sha256:abc"));
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("127.0.0.1:5000/x:bad/tag"));
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("127.0.0.1:5000/x:" + "t".repeat(129)));
    }

    @Test
    void onlyLoopbackRegistriesAreLoopback() {
        assertTrue(ImageReference.parse("127.0.0.1:5000/a:1").isLoopback());
        assertTrue(ImageReference.parse("localhost:5000/a:1").isLoopback());
        assertTrue(ImageReference.parse("localhost/a:1").isLoopback());
        assertFalse(ImageReference.parse("127.0.0.1.example.com/a:1").isLoopback());
        assertFalse(ImageReference.parse("registry.example.com:5000/a:1").isLoopback());
        assertEquals("http://127.0.0.1:5000/v2/", RegistryClient.base(ImageReference.parse("127.0.0.1:5000/a:1")).toString());
        assertEquals("https://ghcr.io/v2/", RegistryClient.base(ImageReference.parse("ghcr.io/a:1")).toString());
    }
}
