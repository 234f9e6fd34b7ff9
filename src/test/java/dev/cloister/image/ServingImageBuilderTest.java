package dev.cloister.image;

import com.google.cloud.tools.jib.global.JibSystemProperties;
import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Input checks that come before any registry call. */
class ServingImageBuilderTest {

    @Test
    void reportsEveryInputProblemAtOnce(@TempDir Path tmp) {
        ServingImageBuilder builder = new ServingImageBuilder(tmp.resolve("cache"), RegistryLimits.DEFAULTS,
                Clock.systemUTC());
        ModelMetadata model = new ModelMetadata(SealedJobs.newJobId(), Digest.of("m"), "restricted", SealedJobs.SEALED);
        String before = System.getProperty(JibSystemProperties.HTTP_TIMEOUT);
        System.setProperty(JibSystemProperties.HTTP_TIMEOUT, "0");
        try {
            ImageException e = assertThrows(ImageException.class, () -> builder.build(
                    ImageReference.parse("127.0.0.1:5000/cloister/serving-base:bookworm"), tmp, tmp, model,
                    ImageReference.parse("127.0.0.1:5000/cloister/models/x@" + Digest.of("x"))));
            assertEquals(3, e.problems().size(), e.getMessage());
            assertTrue(e.problems().get(0).contains("is not pinned by digest"), e.getMessage());
            assertTrue(e.problems().get(1).contains("must name a tag and no digest"), e.getMessage());
            assertTrue(e.problems().get(2).contains("jib.httpTimeout is 0"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(JibSystemProperties.HTTP_TIMEOUT);
            } else {
                System.setProperty(JibSystemProperties.HTTP_TIMEOUT, before);
            }
        }
    }

    @Test
    void servingCodeNeedsServePyAndNoLinks(@TempDir Path tmp) throws Exception {
        ServingImageBuilder builder = new ServingImageBuilder(tmp.resolve("cache"), RegistryLimits.DEFAULTS,
                Clock.systemUTC());
        try (var keys = dev.cloister.keys.HostKeys.open(tmp.resolve("keys"), "pass".toCharArray())) {
            SealedJobs.Sealed sealed = SealedJobs.seal(keys.signer(), tmp.resolve("model"), "restricted");
            ImageReference base = ImageReference.parse("127.0.0.1:5000/cloister/serving-base@" + Digest.of("b"));
            ImageReference target = ImageReference.parse("127.0.0.1:5000/cloister/models/x:1");
            Path empty = Files.createDirectories(tmp.resolve("empty"));
            ImageException none = assertThrows(ImageException.class, () -> builder.build(base, sealed.dir(), empty,
                    sealed.metadata(), target));
            assertTrue(none.getMessage().contains("has no serve.py"), none.getMessage());

            Path linked = SealedJobs.servingCode(tmp.resolve("linked"));
            Files.createSymbolicLink(linked.resolve("secrets"), Path.of("/etc/shadow"));
            ImageException link = assertThrows(ImageException.class, () -> builder.build(base, sealed.dir(), linked,
                    sealed.metadata(), target));
            assertEquals(List.of(), link.problems().stream().filter(p -> !p.startsWith("serving code: ")).toList());
        }
    }
}
