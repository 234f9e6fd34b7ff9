package dev.cloister.policy;

import dev.cloister.dataset.Dataset;
import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionTest {

    private static final String DIGEST = "sha256:" + "c".repeat(64);
    private static final JobId ID = new JobId("job-" + "0".repeat(32));

    private final Policies policies = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted");
    private final Policy restricted = policies.find("restricted").orElseThrow();
    private final Admission admission = new Admission(Path.of("/var/lib/cloister/work"));
    private final Dataset breastCancer = new Dataset("breast-cancer", "test", Path.of("/var/lib/cloister/datasets/breast-cancer"),
            Digest.of("data"), 1, 4, Instant.EPOCH);

    private static JobSpec spec(String image, JobSpec.Resources resources, Duration maxRuntime) {
        return new JobSpec("bc", "test", null, image, List.of("python3", "train.py"), Map.of("MODE", "x"),
                Map.of("epochs", 3L), "breast-cancer", resources, maxRuntime);
    }

    private static JobSpec spec(String image) {
        return spec(image, JobSpec.Resources.POLICY_CAPS, null);
    }

    private List<Violation> refused(JobSpec spec, Policy policy, Dataset dataset) {
        return assertThrows(AdmissionException.class, () -> admission.admit(ID, spec, policy, dataset)).violations();
    }

    @Test
    void planCarriesEveryLockOfThePolicy() throws Exception {
        ContainerPlan plan = admission.admit(ID, spec("cloister/trainer-base@" + DIGEST), restricted, breastCancer);
        assertEquals(ContainerRuntime.RUNC, plan.runtime());
        assertEquals(new UserId(1000, 1000), plan.user());
        assertEquals(restricted.seccomp(), plan.seccomp());
        assertTrue(plan.readOnlyRootfs() && plan.noNewPrivileges() && plan.dropAllCapabilities() && plan.init());
        assertEquals("none", plan.networkMode());
        assertEquals(restricted.limits(), plan.limits(), "no request: the policy caps apply");
        assertEquals(List.of(ContainerPlan.MountKind.DATASET, ContainerPlan.MountKind.CONFIG, ContainerPlan.MountKind.OUTPUT),
                plan.mounts().stream().map(ContainerPlan.Mount::kind).toList());
        ContainerPlan.Mount data = plan.mounts().get(0);
        assertTrue(data.readOnly() && data.nosuid() && data.nodev() && data.noexec());
        assertEquals("/data", data.target());
        assertEquals(breastCancer.directory(), data.source());
        assertTrue(plan.mounts().stream().allMatch(m -> m.nosuid() && m.nodev() && m.noexec()));
        assertEquals(Path.of("/var/lib/cloister/work", ID.value()), plan.workDir());
        assertEquals(restricted.digest().toString(), plan.labels().get("dev.cloister.policy-digest"));
        assertEquals(ID.value(), plan.labels().get(Admission.LABEL_JOB));
        assertEquals("{\"epochs\":3}", plan.hyperparameters());
    }

    @Test
    void sageMakerContractIsInTheEnvironment() throws Exception {
        ContainerPlan plan = admission.admit(ID, spec("cloister/trainer-base@" + DIGEST), restricted, breastCancer);
        assertEquals("/out", plan.env().get("SM_MODEL_DIR"));
        assertEquals("/data", plan.env().get("SM_CHANNEL_TRAINING"));
        assertEquals("{\"epochs\":3}", plan.env().get("SM_HPS"));
        assertEquals("1", plan.env().get("SM_NUM_CPUS"));
        assertEquals("x", plan.env().get("MODE"));
    }

    @Test
    void determinismAidsArePinnedAndTheSeedIsPassedOn() throws Exception {
        JobSpec seeded = new JobSpec("bc", "test", null, "cloister/trainer-base@" + DIGEST, List.of("python3"),
                Map.of(), Map.of(), "breast-cancer", new JobSpec.Resources(null, 0.5, null), null, 42L);
        Map<String, String> env = admission.admit(ID, seeded, restricted, breastCancer).env();
        assertEquals("42", env.get("CLOISTER_SEED"));
        assertEquals("42", env.get("PYTHONHASHSEED"));
        assertEquals("315532800", env.get("SOURCE_DATE_EPOCH"));
        for (String threads : List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")) {
            assertEquals("1", env.get(threads), threads + " from the cpu cap, rounded up");
        }
        Map<String, String> unseeded = admission.admit(ID, spec("cloister/trainer-base@" + DIGEST), restricted,
                breastCancer).env();
        assertEquals("0", unseeded.get("PYTHONHASHSEED"), "hash randomisation off even without a seed");
        assertTrue(!unseeded.containsKey("CLOISTER_SEED"));
    }

    @Test
    void unpinnedImageIsRefused() {
        List<Violation> v = refused(spec("cloister/trainer-base:latest"), restricted, breastCancer);
        assertEquals("image", v.get(0).field());
        assertTrue(v.get(0).reason().contains("not pinned"), v.toString());
        assertTrue(refused(spec("cloister/trainer-base:latest@" + DIGEST), restricted, breastCancer).get(0).reason()
                .contains("mixes a tag"));
        assertTrue(refused(spec("cloister/trainer-base@sha256:abc"), restricted, breastCancer).get(0).reason()
                .contains("malformed"));
    }

    @Test
    void imageOutsideTheAllowListIsRefused() {
        List<Violation> v = refused(spec("evil/miner@" + DIGEST), restricted, breastCancer);
        assertEquals(List.of("image"), v.stream().map(Violation::field).toList());
        assertTrue(v.get(0).reason().contains("not allowed by policy 'restricted'"));
    }

    @Test
    void resourcesOverTheCapAreRefusedEachByField() {
        JobSpec s = spec("cloister/trainer-base@" + DIGEST,
                new JobSpec.Resources(ByteSize.parse("64g"), 8.0, 100_000L), Duration.ofDays(2));
        List<String> fields = refused(s, restricted, breastCancer).stream().map(Violation::field).toList();
        assertEquals(List.of("resources.memory", "resources.cpus", "resources.pids", "maxRuntime"), fields);
    }

    @Test
    void smallerRequestsAreGranted() throws Exception {
        JobSpec s = spec("cloister/trainer-base@" + DIGEST,
                new JobSpec.Resources(ByteSize.parse("1g"), 0.5, 64L), Duration.ofMinutes(1));
        ContainerPlan plan = admission.admit(ID, s, restricted, breastCancer);
        assertEquals(new Limits(ByteSize.parse("1g"), 0.5, 64, Duration.ofMinutes(1)), plan.limits());
    }

    @Test
    void memoryBelowScratchIsRefused() {
        JobSpec s = spec("cloister/trainer-base@" + DIGEST, new JobSpec.Resources(ByteSize.parse("100m"), null, null), null);
        assertTrue(refused(s, restricted, breastCancer).stream().anyMatch(v -> v.reason().contains("scratch")));
    }

    @Test
    void datasetNotAllowedByPolicyIsRefused() {
        Dataset other = new Dataset("payroll", "test", Path.of("/var/lib/cloister/datasets/payroll"), Digest.of("x"), 1, 1, Instant.EPOCH);
        List<Violation> v = refused(spec("cloister/trainer-base@" + DIGEST), restricted, other);
        assertEquals("dataset", v.get(0).field());
    }

    @Test
    void aTeamThePolicyDoesNotNameIsRefused() {
        JobSpec s = new JobSpec("bc", "payroll", null, "cloister/trainer-base@" + DIGEST, List.of("true"), Map.of(),
                Map.of(), null, JobSpec.Resources.POLICY_CAPS, null);
        List<Violation> v = refused(s, restricted, null);
        assertEquals(List.of("team"), v.stream().map(Violation::field).toList());
        assertEquals("policy 'restricted' does not admit jobs of team 'payroll'", v.get(0).reason());
    }

    @Test
    void aPolicyWithoutTeamsAdmitsNoTeam() {
        Policy noTeams = new PolicyReader(Path.of("seccomp-profiles")).read("open.yaml", "open", """
                name: open
                images:
                  allowedRepositories: [cloister/trainer-base]
                """.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(List.of(), noTeams.teams());
        for (String team : List.of("test", "examples", "")) {
            JobSpec s = new JobSpec("bc", team, null, "cloister/trainer-base@" + DIGEST, List.of("true"), Map.of(),
                    Map.of(), null, JobSpec.Resources.POLICY_CAPS, null);
            assertEquals("team", refused(s, noTeams, null).get(0).field(), team);
        }
    }

    @Test
    void allViolationsAreReportedTogether() {
        Dataset other = new Dataset("payroll", "test", Path.of("/x"), Digest.of("x"), 1, 1, Instant.EPOCH);
        JobSpec s = spec("evil/miner:latest", new JobSpec.Resources(null, 99.0, null), null);
        assertEquals(List.of("image", "dataset", "resources.cpus"),
                refused(s, restricted, other).stream().map(Violation::field).toList());
    }

    @Test
    void strictPolicyPlansGvisor() throws Exception {
        ContainerPlan plan = admission.admit(ID, spec("cloister/trainer-base@" + DIGEST),
                policies.find("strict").orElseThrow(), breastCancer);
        assertEquals(ContainerRuntime.RUNSC, plan.runtime());
    }
}
