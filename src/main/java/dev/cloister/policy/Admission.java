package dev.cloister.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetException;
import dev.cloister.dataset.DatasetSignature;
import dev.cloister.dataset.DatasetSignatures;
import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Judges a job spec against its policy: yields a {@link ContainerPlan} or every violation at once. No Docker and no
 * network, so every security decision is unit-testable; the only I/O is reading a signed dataset to verify its
 * signature again when the policy requires one (offline, against the policy's trusted root).
 */
public final class Admission {

    public static final String LABEL_PREFIX = "dev.cloister.";
    public static final String LABEL_JOB = LABEL_PREFIX + "job-id";
    /** Signer identity of the job's dataset, when its policy required a signature and admission verified it. */
    public static final String LABEL_DATASET_SIGNER = LABEL_PREFIX + "dataset-signer";
    /** OIDC issuer of that signer's certificate. */
    public static final String LABEL_DATASET_SIGNER_ISSUER = LABEL_PREFIX + "dataset-signer-issuer";

    private final ObjectMapper json = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
    /**
     * The service instance whose container this is: a restarted service settles or removes only its own containers,
     * never those of another Cloister (another data directory) on the same engine.
     */
    public static final String LABEL_INSTANCE = LABEL_PREFIX + "instance";

    private final Path workRoot;
    private final String instance;

    /** @param workRoot host directory under which each job gets its own work directory */
    public Admission(Path workRoot) {
        this.workRoot = workRoot;
        this.instance = instanceOf(workRoot);
    }

    /** The work directory a plan for job {@code id} gets (its mounts, {@code /out}, {@code /in}). */
    public Path workDir(JobId id) {
        return workRoot.resolve(id.value());
    }

    /** The {@link #LABEL_INSTANCE} value of the service whose jobs work under {@code workRoot}. */
    public static String instanceOf(Path workRoot) {
        return dev.cloister.digest.Digest.of(workRoot.toAbsolutePath().normalize().toString()).hex().substring(0, 16);
    }

    /** This admission's {@link #LABEL_INSTANCE} value. */
    public String instance() {
        return instance;
    }

    /**
     * @param dataset the registered dataset the spec names, or null when it names none (or one that does not
     *                exist, which the caller has already reported)
     */
    public ContainerPlan admit(JobId id, JobSpec spec, Policy policy, Dataset dataset) throws AdmissionException {
        List<Violation> violations = new ArrayList<>();
        if (!policy.allowsTeam(spec.team())) {
            violations.add(new Violation("team", "policy '" + policy.name() + "' does not admit jobs of team '"
                    + spec.team() + "'"));
        }

        ImageRef image = null;
        try {
            image = ImageRef.parse(spec.image());
            if (!policy.allowedImageRepositories().contains(image.repository())) {
                violations.add(new Violation("image", "repository '" + image.repository() + "' is not allowed by policy '"
                        + policy.name() + "' (allowed: " + policy.allowedImageRepositories() + ")"));
            }
        } catch (IllegalArgumentException e) {
            violations.add(new Violation("image", e.getMessage()));
        }

        if (dataset != null && !policy.allowedDatasets().contains(dataset.name())) {
            violations.add(new Violation("dataset", "dataset '" + dataset.name() + "' is not allowed by policy '"
                    + policy.name() + "'"));
        }
        DatasetSignature signer = dataset == null ? null : verifiedSigner(dataset, policy, violations);

        Limits cap = policy.limits();
        JobSpec.Resources asked = spec.resources();
        ByteSize memory = orCap(asked.memory(), cap.memory(), "resources.memory", violations);
        double cpus = asked.cpus() == null ? cap.cpus() : asked.cpus();
        if (asked.cpus() != null && (cpus <= 0 || cpus > cap.cpus())) {
            violations.add(new Violation("resources.cpus", cpus + " is outside (0, " + cap.cpus() + "], the cap of policy '"
                    + policy.name() + "'"));
        }
        long pids = asked.pids() == null ? cap.pids() : asked.pids();
        if (asked.pids() != null && (pids < 8 || pids > cap.pids())) {
            violations.add(new Violation("resources.pids", pids + " is outside [8, " + cap.pids() + "], the cap of policy '"
                    + policy.name() + "'"));
        }
        Duration runtime = spec.maxRuntime() == null ? cap.maxRuntime() : spec.maxRuntime();
        if (runtime.compareTo(cap.maxRuntime()) > 0 || runtime.isZero()) {
            violations.add(new Violation("maxRuntime", DurationText.format(runtime) + " exceeds the cap "
                    + DurationText.format(cap.maxRuntime()) + " of policy '" + policy.name() + "'"));
        }
        if (policy.tmpSize().bytes() + policy.shmSize().bytes() > memory.bytes()) {
            violations.add(new Violation("resources.memory", memory + " is less than the memory-backed scratch ("
                    + policy.tmpSize() + " /tmp + " + policy.shmSize() + " /dev/shm) of policy '" + policy.name() + "'"));
        }

        String hyperparameters;
        try {
            hyperparameters = json.writeValueAsString(new TreeMap<>(spec.hyperparameters()));
        } catch (JsonProcessingException e) {
            violations.add(new Violation("hyperparameters", "cannot be written as JSON"));
            hyperparameters = "{}";
        }

        if (!violations.isEmpty()) {
            throw new AdmissionException(violations);
        }

        Path workDir = workDir(id);
        List<ContainerPlan.Mount> mounts = new ArrayList<>();
        if (dataset != null) {
            mounts.add(new ContainerPlan.Mount(ContainerPlan.MountKind.DATASET, dataset.directory(),
                    ContainerPlan.DATA_DIR, true, true, true, true));
        }
        mounts.add(new ContainerPlan.Mount(ContainerPlan.MountKind.CONFIG, workDir.resolve("config"),
                ContainerPlan.CONFIG_DIR, true, true, true, true));
        mounts.add(new ContainerPlan.Mount(ContainerPlan.MountKind.OUTPUT, workDir.resolve("out"),
                ContainerPlan.OUTPUT_DIR, false, true, true, true));

        List<ContainerPlan.Tmpfs> tmpfs = List.of(
                new ContainerPlan.Tmpfs("/tmp", policy.tmpSize(), "rw,nosuid,nodev,noexec"));

        int wholeCpus = (int) Math.max(1, Math.ceil(cpus));
        Map<String, String> env = new LinkedHashMap<>(spec.env());
        env.putAll(sageMakerEnv(hyperparameters, dataset != null, wholeCpus));
        env.put("HOME", "/tmp");
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        env.putAll(determinismEnv(spec.seed(), wholeCpus));

        Map<String, String> labels = new TreeMap<>();
        labels.put(LABEL_PREFIX + "managed", "true");
        labels.put(LABEL_JOB, id.value());
        labels.put(LABEL_INSTANCE, instance);
        labels.put(LABEL_PREFIX + "team", spec.team());
        labels.put(LABEL_PREFIX + "policy", policy.name());
        labels.put(LABEL_PREFIX + "policy-digest", policy.digest().toString());
        labels.put(LABEL_PREFIX + "seccomp-digest", policy.seccomp().digest().toString());
        if (signer != null) {
            labels.put(LABEL_DATASET_SIGNER, signer.identity());
            labels.put(LABEL_DATASET_SIGNER_ISSUER, signer.issuer());
        }

        return new ContainerPlan(id.value(), image, spec.command(), env, policy.user(), policy.runtime(),
                policy.seccomp(), mounts, tmpfs, policy.shmSize(), new Limits(memory, cpus, pids, runtime),
                policy.stopGrace(), policy.logSize(), policy.outputSize(), hyperparameters, workDir, labels);
    }

    /**
     * Admits one federated site's run: the same judgement as {@link #admit}, plus the policy must allow a federated
     * input ({@code federation.allowInput}); the plan then binds {@code <workDir>/in} read-only at {@code /in}, where
     * the host writes the global weights before the run. Nothing else differs.
     */
    public ContainerPlan admitSite(JobId id, JobSpec spec, Policy policy, Dataset dataset) throws AdmissionException {
        List<Violation> violations = new ArrayList<>();
        if (!policy.federatedInput()) {
            violations.add(new Violation("policy", "policy '" + policy.name() + "' does not allow federated sites "
                    + "(federation.allowInput is not set)"));
        }
        ContainerPlan plan = null;
        try {
            plan = admit(id, spec, policy, dataset);
        } catch (AdmissionException e) {
            violations.addAll(e.violations());
        }
        if (!violations.isEmpty()) {
            throw new AdmissionException(violations);
        }
        List<ContainerPlan.Mount> mounts = new ArrayList<>(plan.mounts());
        mounts.add(new ContainerPlan.Mount(ContainerPlan.MountKind.INPUT, plan.workDir().resolve("in"),
                ContainerPlan.INPUT_DIR, true, true, true, true));
        return new ContainerPlan(plan.jobId(), plan.image(), plan.argv(), plan.env(), plan.user(), plan.runtime(),
                plan.seccomp(), mounts, plan.tmpfs(), plan.shmSize(), plan.limits(), plan.stopGrace(), plan.logSize(),
                plan.outputSize(), plan.hyperparameters(), plan.workDir(), plan.labels());
    }

    // Verified again here, not trusted from registration: the policy may differ from the ones registration checked,
    // and the directory may have changed since.
    private static DatasetSignature verifiedSigner(Dataset dataset, Policy policy, List<Violation> violations) {
        SignatureRequirement required = policy.requiredDatasetSignature().orElse(null);
        if (required == null) {
            return null;
        }
        String rule = "policy '" + policy.name() + "' requires a dataset signed by " + required.describe();
        if (dataset.signature() == null) {
            violations.add(new Violation("dataset", rule + ", but dataset '" + dataset.name()
                    + "' was registered without a signature"));
            return null;
        }
        try {
            return DatasetSignatures.verify(dataset, required);
        } catch (DatasetException e) {
            violations.add(new Violation("dataset", rule + ": " + e.getMessage()));
            return null;
        }
    }

    /**
     * What commonly breaks reproducibility, pinned (README "Reproducibility"): Python's string hashing (set and dict
     * iteration order), the size of numeric thread pools (the order of floating-point reductions) from the cpu cap
     * rather than the host, and a fixed {@code SOURCE_DATE_EPOCH} that build tools stamp instead of the clock. The
     * spec's seed reaches the job as {@code CLOISTER_SEED}. The spec cannot set any of these (reserved names).
     */
    static Map<String, String> determinismEnv(Long seed, int wholeCpus) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PYTHONHASHSEED", seed == null ? "0" : Long.toString(seed));
        for (String threads : List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")) {
            env.put(threads, Integer.toString(wholeCpus));
        }
        env.put("SOURCE_DATE_EPOCH", Long.toString(SOURCE_DATE_EPOCH));
        if (seed != null) {
            env.put("CLOISTER_SEED", Long.toString(seed));
        }
        return env;
    }

    /** 1980-01-01T00:00:00Z: the earliest time a zip entry can hold, so zip writers that honour it stay valid. */
    public static final long SOURCE_DATE_EPOCH = 315_532_800L;

    // SageMaker's training-container contract, so that existing training scripts run unchanged.
    private static Map<String, String> sageMakerEnv(String hyperparameters, boolean hasData, int cpus) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("SM_MODEL_DIR", ContainerPlan.OUTPUT_DIR);
        env.put("SM_OUTPUT_DATA_DIR", ContainerPlan.OUTPUT_DIR);
        env.put("SM_INPUT_CONFIG_DIR", ContainerPlan.CONFIG_DIR);
        env.put("SM_HPS", hyperparameters);
        env.put("SM_NUM_CPUS", Integer.toString(cpus));
        env.put("SM_NUM_GPUS", "0");
        if (hasData) {
            env.put("SM_CHANNELS", "[\"training\"]");
            env.put("SM_CHANNEL_TRAINING", ContainerPlan.DATA_DIR);
        } else {
            env.put("SM_CHANNELS", "[]");
        }
        return env;
    }

    private static ByteSize orCap(ByteSize asked, ByteSize cap, String field, List<Violation> violations) {
        if (asked == null) {
            return cap;
        }
        if (asked.compareTo(cap) > 0) {
            violations.add(new Violation(field, asked + " exceeds the policy cap " + cap));
        }
        return asked;
    }
}
