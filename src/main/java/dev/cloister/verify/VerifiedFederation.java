package dev.cloister.verify;

import dev.cloister.digest.Digest;

import java.util.List;

/**
 * What a successful federation verification established: every round record verified with the pinned key and
 * chained in order, and the final model's seal.
 *
 * @param model the verified final model (OMS signature and provenance)
 */
public record VerifiedFederation(String federationId, String name, List<Round> rounds, Digest initialGlobal,
                                 Digest finalGlobal, SealReport model) {

    public VerifiedFederation {
        rounds = List.copyOf(rounds);
    }

    /** One verified round: who was accepted (site and update digest) and who was excluded, with the reason. */
    public record Round(int number, Digest recordDigest, Digest input, Digest output, List<String> accepted,
                        List<String> excluded) {
        public Round {
            accepted = List.copyOf(accepted);
            excluded = List.copyOf(excluded);
        }
    }
}
