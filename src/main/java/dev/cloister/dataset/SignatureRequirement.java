package dev.cloister.dataset;

import java.util.List;

/**
 * Who may sign a dataset: a signature is accepted only if it verifies offline against {@code trustedRoot} and its
 * certificate names one of {@code identities} (exact subject alternative name, no patterns) and one of
 * {@code issuers} (exact OIDC issuer URL). A policy states it as:
 * <pre>
 * requireDatasetSignature:
 *   identities: ["https://github.com/acme/data/.github/workflows/sign.yml@refs/heads/main"]
 *   issuers: ["https://token.actions.githubusercontent.com"]
 *   trustedRoot: trusted-roots/public-good.json   # relative to the policies directory
 * </pre>
 */
public record SignatureRequirement(List<String> identities, List<String> issuers, TrustedRoot trustedRoot) {

    public SignatureRequirement {
        identities = List.copyOf(identities);
        issuers = List.copyOf(issuers);
        if (identities.isEmpty() || issuers.isEmpty() || trustedRoot == null) {
            throw new IllegalArgumentException("a signature requirement needs identities, issuers and a trusted root");
        }
    }

    /** How the requirement reads in a refusal: {@code identities [...] with issuers [...]}. */
    public String describe() {
        return "identities " + identities + " with issuers " + issuers;
    }
}
