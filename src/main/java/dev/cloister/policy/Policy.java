package dev.cloister.policy;

import dev.cloister.digest.Digest;

import java.time.Duration;
import java.util.List;

/**
 * A reviewed policy, loaded from {@code policies/NAME.yaml}. Every field here decides a lock on the job's container;
 * a field missing from the file takes the safer value (see {@link PolicyReader}).
 *
 * @param digest SHA-256 of the policy file's exact bytes, recorded with every job admitted under it
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
        Duration stopGrace) {

    public Policy {
        allowedImageRepositories = List.copyOf(allowedImageRepositories);
        allowedDatasets = List.copyOf(allowedDatasets);
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
