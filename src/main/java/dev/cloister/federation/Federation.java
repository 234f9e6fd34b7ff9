package dev.cloister.federation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A federation as it stands: its sites, every round with each site's part in it, and the outcome. Immutable; the
 * service replaces it on every change and the store writes each version to disk.
 *
 * @param evaluation   the held-out evaluation's report (accuracy of the global model and of each site alone, as the
 *                     evaluation container computed them), or null
 * @param sealedAt     when the final model was sealed (its provenance's finish time, and its serving image's
 *                     creation time), or null
 * @param servingImage the serving image once pushed: {@code registry/repository:tag@sha256:...}, or null
 */
public record Federation(
        String id,
        String name,
        State state,
        String reason,
        Instant submittedAt,
        Instant startedAt,
        Instant finishedAt,
        String image,
        String imageDigest,
        String imagePinnedBy,
        String aggregation,
        Double clipNorm,
        int quorum,
        int plannedRounds,
        String roundDeadline,
        List<Site> sites,
        List<Round> rounds,
        String initialDigest,
        String modelDigest,
        String keyId,
        Map<String, Object> evaluation,
        String spec,
        Instant sealedAt,
        String servingImage) {

    public Federation {
        sites = List.copyOf(sites);
        rounds = List.copyOf(rounds);
    }

    /**
     * Where a federation is. After the last round its model is SEALED (and evaluated), then packaged into a serving
     * image like a job's model: PACKAGED once the image is pushed by digest, PUBLISHED once it is signed.
     */
    public enum State {
        QUEUED, RUNNING, EVALUATING, SEALED, PACKAGED, PUBLISHED, FAILED, CANCELLED;

        public boolean isFinal() {
            return this == PUBLISHED || this == FAILED || this == CANCELLED;
        }
    }

    /** A site as admitted, with the digests recorded at submission. */
    public record Site(String name, String team, String dataset, String datasetDigest, String policy,
                       String policyDigest, String seccomp, String seccompDigest, String runtime) {
    }

    /** Where a round is. */
    public enum RoundState { RUNNING, AGGREGATED, FAILED, CANCELLED }

    /** One round: input, output, record, and every site's part. */
    public record Round(int number, RoundState state, String reason, String inputDigest, String outputDigest,
                        String record, String recordDigest, Instant startedAt, Instant finishedAt,
                        List<SiteRound> sites) {
        public Round {
            sites = List.copyOf(sites);
        }

        Round withSite(SiteRound s) {
            List<SiteRound> out = new ArrayList<>(sites);
            out.replaceAll(x -> x.site().equals(s.site()) ? s : x);
            return new Round(number, state, reason, inputDigest, outputDigest, record, recordDigest, startedAt,
                    finishedAt, out);
        }
    }

    /** How one site's run in one round went. */
    public enum SiteState { PENDING, RUNNING, ACCEPTED, EXCLUDED }

    /**
     * One site's part in one round.
     *
     * @param metrics    the scalar metrics the site reported (its own numbers, not checked by the host)
     * @param interfaces the network interfaces the site's container saw, as it reported them
     */
    public record SiteRound(String site, String team, SiteState state, String reason, String updateDigest,
                            Long examples, Double norm, Boolean clipped, Map<String, Object> metrics,
                            List<String> interfaces) {

        static SiteRound pending(Site s) {
            return new SiteRound(s.name(), s.team(), SiteState.PENDING, null, null, null, null, null, Map.of(),
                    List.of());
        }

        SiteRound running() {
            return new SiteRound(site, team, SiteState.RUNNING, null, null, null, null, null, Map.of(), List.of());
        }
    }

    Federation withState(State next, String why, Instant at) {
        return new Federation(id, name, next, why, submittedAt, next == State.RUNNING && startedAt == null ? at
                : startedAt, next.isFinal() ? at : finishedAt, image, imageDigest, imagePinnedBy, aggregation,
                clipNorm, quorum, plannedRounds, roundDeadline, sites, rounds, initialDigest, modelDigest, keyId,
                evaluation, spec, sealedAt, servingImage);
    }

    Federation withRound(Round round) {
        List<Round> out = new ArrayList<>(rounds);
        if (out.stream().anyMatch(r -> r.number() == round.number())) {
            out.replaceAll(r -> r.number() == round.number() ? round : r);
        } else {
            out.add(round);
        }
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites, out,
                initialDigest, modelDigest, keyId, evaluation, spec, sealedAt, servingImage);
    }

    Federation withRound(int number, UnaryOperator<Round> change) {
        return withRound(change.apply(rounds.stream().filter(r -> r.number() == number).findFirst().orElseThrow()));
    }

    /** Drops every round after {@code last} (a round the service stopped in, to be run again). */
    Federation withRoundsUpTo(int last) {
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites,
                rounds.stream().filter(r -> r.number() <= last).toList(), initialDigest, modelDigest, keyId,
                evaluation, spec, sealedAt, servingImage);
    }

    Federation withInitial(String digest) {
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites, rounds, digest,
                modelDigest, keyId, evaluation, spec, sealedAt, servingImage);
    }

    Federation withSeal(String model, String key, Instant at) {
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites, rounds,
                initialDigest, model, key, evaluation, spec, at, servingImage);
    }

    Federation withServingImage(String reference) {
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites, rounds,
                initialDigest, modelDigest, keyId, evaluation, spec, sealedAt, reference);
    }

    Federation withEvaluation(Map<String, Object> report) {
        return new Federation(id, name, state, reason, submittedAt, startedAt, finishedAt, image, imageDigest,
                imagePinnedBy, aggregation, clipNorm, quorum, plannedRounds, roundDeadline, sites, rounds,
                initialDigest, modelDigest, keyId, report, spec, sealedAt, servingImage);
    }

    /** The site named {@code name}, if it takes part. */
    public java.util.Optional<Site> site(String site) {
        return sites.stream().filter(s -> s.name().equals(site)).findFirst();
    }
}
