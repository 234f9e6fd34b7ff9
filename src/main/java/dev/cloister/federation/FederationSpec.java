package dev.cloister.federation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.job.JobSpec;
import dev.cloister.policy.ByteSize;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A federated training job as submitted: one trainer image (pinned by digest) run at every site, the sites, the
 * rounds and how each round is judged. Checked by {@link FederationSpecReader}; every site is admitted under its own
 * policy like a job.
 *
 * @param model         the arrays of the model and their shapes; the first global weights are zeros of these
 * @param quorum        the fewest accepted updates a round needs
 * @param roundDeadline how long a site's container may run in one round (its max runtime)
 * @param clipNorm      the L2 bound of an update's delta from the global weights, or null for none
 * @param maxUpdateBytes the largest {@code update.npz} accepted
 * @param evaluation    an optional held-out evaluation after the last round, or null
 * @param document      the spec as submitted (JSON), recorded in the final model's provenance
 */
public record FederationSpec(
        String name,
        String image,
        List<String> command,
        Map<String, int[]> model,
        int rounds,
        int quorum,
        Duration roundDeadline,
        Aggregation aggregation,
        Double clipNorm,
        ByteSize maxUpdateBytes,
        List<Site> sites,
        Evaluation evaluation,
        JsonNode document) {

    public FederationSpec {
        command = List.copyOf(command);
        model = Map.copyOf(model);
        sites = List.copyOf(sites);
    }

    /**
     * One data owner: a team's registered dataset under that team's policy.
     *
     * @param job the site's run as a job spec (image, command, env, dataset, policy, deadline), checked by the job
     *            spec reader and admitted like a job
     */
    public record Site(String name, String team, String dataset, String policy, JobSpec job) {
    }

    /**
     * The held-out evaluation: a container on the evaluation dataset, given the final global weights and each
     * site's solo model (the same trainer, trained on that site's data alone for as many epochs), that reports the
     * accuracy of each. Nothing of it feeds back into the federation.
     */
    public record Evaluation(String team, String dataset, String policy, JobSpec job) {
    }
}
