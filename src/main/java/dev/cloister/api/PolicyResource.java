package dev.cloister.api;

import dev.cloister.policy.DurationText;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import java.util.List;

/** The reviewed policies, shown as the effective container settings they produce. */
@Path("/api/v1/policies")
@Produces(MediaType.APPLICATION_JSON)
public class PolicyResource {

    /** Effective settings of one policy, including the locks no policy can change. */
    public record PolicyView(String name, String description, String digest, String runtime, String seccompProfile,
                             String seccompDigest, String user, boolean readOnlyRootfs, String network,
                             String capabilities, boolean noNewPrivileges, List<String> allowedImageRepositories,
                             String tmpSize, String shmSize, String memory, String memorySwap, double cpus, long pids,
                             String maxRuntime, String stopGrace, String logSize, String outputSize,
                             List<String> allowedDatasets, String requireDatasetSignature) {
        static PolicyView of(Policy p) {
            return new PolicyView(p.name(), p.description(), p.digest().toString(), p.runtime().engineName(),
                    p.seccomp().name(), p.seccomp().digest().toString(), p.user().toString(), p.readOnlyRootfs(),
                    p.network(), "none (all dropped)", true, p.allowedImageRepositories(), p.tmpSize().toString(),
                    p.shmSize().toString(), p.limits().memory().toString(), p.limits().memory() + " (no swap)",
                    p.limits().cpus(), p.limits().pids(), DurationText.format(p.limits().maxRuntime()),
                    DurationText.format(p.stopGrace()), p.logSize().toString(), p.outputSize().toString(),
                    p.allowedDatasets(), p.requiredDatasetSignature().map(r -> r.describe()).orElse("not required"));
        }
    }

    private final Policies policies;

    public PolicyResource(Policies policies) {
        this.policies = policies;
    }

    @GET
    public List<PolicyView> list() {
        return policies.all().stream().map(PolicyView::of).toList();
    }

    @GET
    @Path("{name}")
    public PolicyView get(@PathParam("name") String name) {
        return policies.find(name).map(PolicyView::of).orElseThrow(() -> new NotFoundException("no policy with that name"));
    }
}
