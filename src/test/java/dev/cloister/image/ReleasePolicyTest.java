package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.job.ModelOrigin;
import dev.cloister.policy.PolicyException;
import dev.cloister.policy.Violation;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReleasePolicyTest {

    private static final Digest DATA = Digest.of("data");
    private static final ImageReference BASE = ImageReference.parse(
            "127.0.0.1:5000/cloister/serving-base@" + Digest.of("base"));
    private static final Instant NOW = Instant.parse("2025-03-01T00:00:00Z");

    private static ImageProvenance.Claims claims(String policy, Optional<Digest> dataset, ImageReference base,
                                                 Instant builtOn) {
        return new ImageProvenance.Claims("127.0.0.1:5000/m", Digest.of("image"), new ModelOrigin("job-" + "1".repeat(32)),
                "urn:cloister:host:t", policy, base, Digest.of("model"), Digest.of("prov"), dataset.stream().toList(),
                builtOn);
    }

    @Test
    void readsEveryField() {
        ReleasePolicy policy = ReleasePolicy.parse("release.yaml", """
                allowedPolicies: [restricted, standard]
                allowedDatasetDigests: [%s]
                allowedBaseImages:
                  - %s
                maxAge: 30d
                """.formatted(DATA, BASE));
        assertEquals(List.of("restricted", "standard"), policy.allowedPolicies());
        assertEquals(List.of(DATA), policy.allowedDatasetDigests());
        assertEquals(List.of(BASE), policy.allowedBaseImages());
        assertEquals(Optional.of(Duration.ofDays(30)), policy.maxAge());

        ReleasePolicy minimal = ReleasePolicy.parse("min.yaml", "allowedPolicies: [restricted]\n");
        assertEquals(List.of(), minimal.allowedDatasetDigests());
        assertEquals(Optional.empty(), minimal.maxAge());
        assertEquals(Optional.of(Duration.ofHours(12)),
                ReleasePolicy.parse("h", "allowedPolicies: [a]\nmaxAge: 12h").maxAge());
    }

    @Test
    void reportsEveryProblemWithItsField() {
        PolicyException e = assertThrows(PolicyException.class, () -> ReleasePolicy.parse("bad.yaml", """
                allowedPolicy: [restricted]
                allowedDatasetDigests: [sha256:nothex, 42]
                allowedBaseImages: [127.0.0.1:5000/cloister/serving-base:bookworm]
                maxAge: 30 days
                extra: true
                """));
        assertEquals("bad.yaml", e.file());
        List<String> fields = e.violations().stream().map(Violation::field).toList();
        assertEquals(List.of("allowedPolicies", "allowedDatasetDigests[1]", "allowedDatasetDigests[0]",
                "allowedBaseImages[0]", "maxAge", "allowedPolicy", "extra"), fields, e.getMessage());
        assertTrue(e.getMessage().contains("allowedPolicies: is required"), e.getMessage());
        assertTrue(e.getMessage().contains("allowedPolicy: unknown field"), e.getMessage());
        assertTrue(e.getMessage().contains("allowedBaseImages[0]: must be pinned by digest"), e.getMessage());
        assertTrue(e.getMessage().contains("maxAge: not an age"), e.getMessage());
    }

    @Test
    void refusesEmptyListsAndNonObjects() {
        PolicyException empty = assertThrows(PolicyException.class, () -> ReleasePolicy.parse("e.yaml",
                "allowedPolicies: []\nallowedDatasetDigests: []\n"));
        assertEquals(List.of("allowedPolicies", "allowedDatasetDigests"),
                empty.violations().stream().map(Violation::field).toList());
        assertThrows(PolicyException.class, () -> ReleasePolicy.parse("l.yaml", "- restricted\n"));
        assertThrows(PolicyException.class, () -> ReleasePolicy.parse("y.yaml", "allowedPolicies: [a\n"));
        assertThrows(PolicyException.class, () -> ReleasePolicy.parse("d.yaml",
                "allowedPolicies: [a]\nallowedPolicies: [b]\n"), "duplicate keys");
        assertThrows(PolicyException.class, () -> ReleasePolicy.parse("z.yaml", "allowedPolicies: [a]\nmaxAge: 0d\n"));
    }

    @Test
    void listsEveryViolationOfTheClaims() {
        ReleasePolicy policy = ReleasePolicy.parse("p.yaml", """
                allowedPolicies: [restricted]
                allowedDatasetDigests: [%s]
                allowedBaseImages: [%s]
                maxAge: 30d
                """.formatted(DATA, BASE));
        assertEquals(List.of(), policy.violations(claims("restricted", Optional.of(DATA), BASE,
                NOW.minus(Duration.ofDays(29))), NOW));

        ImageReference otherBase = BASE.pinned(Digest.of("other base"));
        List<String> all = policy.violations(claims("permissive", Optional.of(Digest.of("other")), otherBase,
                NOW.minus(Duration.ofDays(31))), NOW);
        assertEquals(4, all.size(), all.toString());
        assertTrue(all.get(0).contains("policy 'permissive', which is not one of the allowed [restricted]"), all.get(0));
        assertTrue(all.get(1).contains("data set " + Digest.of("other") + ", which is not one of the allowed"), all.get(1));
        assertTrue(all.get(2).contains("base image " + otherBase), all.get(2));
        assertTrue(all.get(3).contains("more than the allowed 30d"), all.get(3));

        assertTrue(policy.violations(claims("restricted", Optional.empty(), BASE, NOW), NOW).get(0)
                .contains("names no training data set"));
        assertTrue(policy.violations(claims("restricted", Optional.of(DATA), BASE, NOW.plus(Duration.ofHours(1))), NOW)
                .get(0).contains("in the future"));
    }

    @Test
    void aFederatedModelNeedsEverySiteDatasetAllowed() {
        ReleasePolicy policy = ReleasePolicy.parse("p.yaml", """
                allowedPolicies: [federated]
                allowedDatasetDigests: [%s]
                """.formatted(DATA));
        Digest other = Digest.of("site b");
        ImageProvenance.Claims both = new ImageProvenance.Claims("127.0.0.1:5000/m", Digest.of("image"),
                new ModelOrigin("fed-" + "2".repeat(32)), "urn:cloister:host:t", "federated", BASE, Digest.of("model"),
                Digest.of("prov"), List.of(DATA, other), NOW);
        List<String> out = policy.violations(both, NOW);
        assertEquals(List.of("release policy: the model was trained on data set " + other
                + ", which is not one of the allowed [" + DATA + "]"), out);
    }
}
