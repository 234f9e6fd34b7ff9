package dev.cloister.policy;

import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.digest.Digest;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A reviewed policy, loaded from {@code policies/NAME.yaml}. Every field here decides a lock on the job's container;
 * a field missing from the file takes the safer value (see {@link PolicyReader}). The one exception is
 * {@code requireDatasetSignature}: it adds a check, so leaving it out means no signature check (the dataset allow-list
 * still applies).
 *
 * @param digest             SHA-256 of the policy file's exact bytes, recorded with every job admitted under it
 * @param datasetSignature   whose Sigstore signature a job's dataset must carry ({@code requireDatasetSignature}),
 *                           or null when the policy requires none
 * @param teams              the teams whose jobs may run under this policy; a file without {@code teams} names none,
 *                           so no team can use the policy until a reviewer names them
 * @param acceptedExceptions probe outcomes of the escape suite ({@code deploy/probes}) that reviewers accepted
 *                           for this policy, each with its reason; they decide nothing at admission, they are the
 *                           evidence that the probe suite's test checks the measured outcomes against
 * @param federatedInput     whether a federated-training site may run under this policy, with the host's global
 *                           weights bound read-only at {@code /in} ({@code federation.allowInput}; off unless set)
 */
public record Policy(
        String name,
        String description,
        Digest digest,
        List<String> allowedImageRepositories,
        ContainerRuntime runtime,
        SeccompProfile seccomp,
        UserId user,
        ByteSize tmpSize,
        ByteSize shmSize,
        Limits limits,
        ByteSize logSize,
        ByteSize outputSize,
        List<String> allowedDatasets,
        Duration stopGrace,
        SignatureRequirement datasetSignature,
        List<AcceptedException> acceptedExceptions,
        boolean federatedInput,
        List<String> teams) {

    /**
     * A probe (by name) that may report "allowed" under this policy, and why reviewers accept it.
     *
     * @param probe  the probe's name, as {@code deploy/probes/probe.py --list} prints it
     * @param reason what was measured and why it is acceptable
     */
    public record AcceptedException(String probe, String reason) {
    }

    public Policy {
        allowedImageRepositories = List.copyOf(allowedImageRepositories);
        allowedDatasets = List.copyOf(allowedDatasets);
        acceptedExceptions = acceptedExceptions == null ? List.of() : List.copyOf(acceptedExceptions);
        teams = teams == null ? List.of() : List.copyOf(teams);
    }

    /** Whether jobs of {@code team} may run under this policy. */
    public boolean allowsTeam(String team) {
        return team != null && teams.contains(team);
    }

    /** The accepted exception for {@code probe}, if this policy lists one. */
    public Optional<AcceptedException> acceptedException(String probe) {
        return acceptedExceptions.stream().filter(e -> e.probe().equals(probe)).findFirst();
    }

    /** The dataset signature this policy requires, if any. */
    public Optional<SignatureRequirement> requiredDatasetSignature() {
        return Optional.ofNullable(datasetSignature);
    }

    /** Policies always make the root filesystem read-only; kept as a method so reports show it. */
    public boolean readOnlyRootfs() {
        return true;
    }

    /** Jobs never get a network; kept as a method so reports show it. */
    public String network() {
        return "none";
    }
}
