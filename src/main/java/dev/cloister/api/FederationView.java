package dev.cloister.api;

import dev.cloister.federation.Federation;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A federation as the API shows it: everything but the submitted spec text.
 *
 * @param servingImage the sealed model's serving image once pushed ({@code registry/repository:tag@sha256:...}),
 *                     signed once the state is PUBLISHED
 */
public record FederationView(String id, String name, String state, String reason, Instant submittedAt,
                             Instant startedAt, Instant finishedAt, String image, String imageDigest,
                             String aggregation, Double clipNorm, int quorum, int plannedRounds, String roundDeadline,
                             List<Federation.Site> sites, List<Federation.Round> rounds, String initialDigest,
                             String modelDigest, String keyId, Map<String, Object> evaluation,
                             Instant sealedAt, String servingImage) {

    static FederationView of(Federation f) {
        return new FederationView(f.id(), f.name(), f.state().name(), f.reason(), f.submittedAt(), f.startedAt(),
                f.finishedAt(), f.image(), f.imageDigest(), f.aggregation(), f.clipNorm(), f.quorum(),
                f.plannedRounds(), f.roundDeadline(), f.sites(), f.rounds(), f.initialDigest(), f.modelDigest(),
                f.keyId(), f.evaluation(), f.sealedAt(), f.servingImage());
    }
}
