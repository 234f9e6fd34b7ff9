package dev.cloister.job;

import dev.cloister.policy.ByteSize;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A training job as a team submits it. Structure is checked by {@link JobSpecReader}; whether it may run is decided
 * by {@code Admission} against its policy.
 *
 * @param policy          the policy to admit under, or null for the default
 * @param dataset         a registered dataset name, or null for none
 * @param hyperparameters scalar values (String, Long, Double, Boolean), kept in submission order
 * @param maxRuntime      null for the policy's cap
 * @param seed            the job's random seed, 0..2^32-1, handed to the container as {@code CLOISTER_SEED} and
 *                        {@code PYTHONHASHSEED}; null when the spec declares none
 */
public record JobSpec(
        String name,
        String team,
        String policy,
        String image,
        List<String> command,
        Map<String, String> env,
        Map<String, Object> hyperparameters,
        String dataset,
        Resources resources,
        Duration maxRuntime,
        Long seed) {

    /** The largest seed: numpy's legacy {@code RandomState} and {@code PYTHONHASHSEED} take 32-bit values. */
    public static final long MAX_SEED = 4_294_967_295L;

    public JobSpec {
        if (seed != null && (seed < 0 || seed > MAX_SEED)) {
            throw new IllegalArgumentException("seed must be between 0 and " + MAX_SEED);
        }
        command = List.copyOf(command);
        env = Map.copyOf(env);
        hyperparameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(hyperparameters));
    }

    /** A spec without a declared seed. */
    public JobSpec(String name, String team, String policy, String image, List<String> command, Map<String, String> env,
                   Map<String, Object> hyperparameters, String dataset, Resources resources, Duration maxRuntime) {
        this(name, team, policy, image, command, env, hyperparameters, dataset, resources, maxRuntime, null);
    }

    /** Requested resources; null fields take the policy's cap. */
    public record Resources(ByteSize memory, Double cpus, Long pids) {
        public static final Resources POLICY_CAPS = new Resources(null, null, null);
    }
}
