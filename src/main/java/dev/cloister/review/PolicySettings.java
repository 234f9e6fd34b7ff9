package dev.cloister.review;

import dev.cloister.policy.DurationText;
import dev.cloister.policy.Policy;

import java.util.List;

/** The effective container settings a policy produces, including the locks no policy can change. */
public record PolicySettings(String name, String description, String digest, String runtime, String seccompProfile,
                             String seccompDigest, String user, boolean readOnlyRootfs, String network,
                             String capabilities, boolean noNewPrivileges, List<String> allowedImageRepositories,
                             String tmpSize, String shmSize, String memory, String memorySwap, double cpus, long pids,
                             String maxRuntime, String stopGrace, String logSize, String outputSize,
                             List<String> allowedDatasets, String requireDatasetSignature,
                             List<Policy.AcceptedException> acceptedExceptions, List<String> teams) {

    public static PolicySettings of(Policy p) {
        return new PolicySettings(p.name(), p.description(), p.digest().toString(), p.runtime().engineName(),
                p.seccomp().name(), p.seccomp().digest().toString(), p.user().toString(), p.readOnlyRootfs(),
                p.network(), "none (all dropped)", true, p.allowedImageRepositories(), p.tmpSize().toString(),
                p.shmSize().toString(), p.limits().memory().toString(), p.limits().memory() + " (no swap)",
                p.limits().cpus(), p.limits().pids(), DurationText.format(p.limits().maxRuntime()),
                DurationText.format(p.stopGrace()), p.logSize().toString(), p.outputSize().toString(),
                p.allowedDatasets(), p.requiredDatasetSignature().map(r -> r.describe()).orElse("not required"),
                p.acceptedExceptions(), p.teams());
    }
}
