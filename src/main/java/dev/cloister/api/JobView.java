package dev.cloister.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.cloister.job.Job;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A job as the API shows it. Environment values are never echoed (they may be secret): only their names.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobView(
        String id,
        String name,
        String team,
        String state,
        String reason,
        Integer exitCode,
        String policy,
        String policyDigest,
        String seccompDigest,
        String runtime,
        String image,
        String imageId,
        String imagePinnedBy,
        String dataset,
        String datasetDigest,
        List<String> command,
        List<String> envNames,
        Map<String, Object> hyperparameters,
        Instant submittedAt,
        Instant startedAt,
        Instant finishedAt,
        List<String> outputs,
        String artifactDir,
        String modelDigest,
        String keyId,
        String servingImage,
        String reproductionOf,
        Long seed,
        List<Job.Transition> history) {

    static JobView of(Job j) {
        return new JobView(j.id().value(), j.spec().name(), j.spec().team(), j.state().name(), j.reason(),
                j.exitCode(), j.policy(), str(j.policyDigest()), str(j.seccompDigest()), j.runtime(), j.image(),
                str(j.imageId()), j.imagePinnedBy(), j.dataset(), str(j.datasetDigest()), j.spec().command(),
                j.spec().env().keySet().stream().sorted().toList(), j.spec().hyperparameters(), j.submittedAt(),
                j.startedAt(), j.finishedAt(), j.outputs(), j.artifactDir(), str(j.modelDigest()), j.keyId(),
                j.servingImage(), str(j.reproductionOf()), j.spec().seed(), j.history());
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }
}
