package dev.cloister.cis;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.BindOptions;
import com.github.dockerjava.api.model.BindPropagation;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.Volume;
import dev.cloister.cis.CisResult.Status;
import dev.cloister.policy.Policy;
import dev.cloister.policy.PolicyReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static dev.cloister.cis.CisResult.Status.FAIL;
import static dev.cloister.cis.CisResult.Status.PASS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Section 5 on real containers of this host's engine (Docker 20.10, runc, no AppArmor): a container configured as
 * Cloister configures a {@code restricted} job passes every item that can pass here, and a deliberately weak one fails
 * the items it breaks. Needs root and a running engine with the trainer image: {@code deploy/host-setup.sh}.
 *
 * <p>{@code dev.cloister.sandbox.ContainerSpecMapper} is package-private, so {@link #restrictedJob} repeats its
 * mapping call for call, fed by the real {@code policies/restricted.yaml} and its seccomp profile. A change to the
 * mapper must be repeated here (or the mapper's {@code hostConfig} made reachable) to keep this test meaningful.
 */
class CisOnEngineTest {

    static final String IMAGE = "cloister/trainer-base:bookworm";
    static final String SETUP = " Run deploy/host-setup.sh (as root) to install and start the engine and build the image.";
    static final Duration EXIT_WAIT = Duration.ofSeconds(60);

    static DockerClient docker;
    static String imageId;
    static Policy restricted;
    static EngineFacts engine;

    final CisBenchmark benchmark = new CisBenchmark();
    final List<String> created = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void engine() {
        try {
            docker = DockerClientFactory.instance().client();
            docker.pingCmd().exec();
        } catch (RuntimeException e) {
            fail("no Docker engine answers (" + e.getMessage() + ")." + SETUP);
        }
        try {
            imageId = docker.inspectImageCmd(IMAGE).exec().getId();
        } catch (NotFoundException e) {
            fail("image " + IMAGE + " is not on this host." + SETUP);
        }
        restricted = new PolicyReader(Path.of("seccomp-profiles")).read(Path.of("policies/restricted.yaml"));
        engine = InspectFacts.engine(docker.infoCmd().exec());
    }

    @AfterEach
    void removeContainers() {
        for (String id : created) {
            try {
                docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
            } catch (NotFoundException e) {
                // already gone
            }
        }
    }

    @Test
    void aRestrictedJobPassesEveryItemThatCanPassOnThisHost() throws IOException {
        String id = create(restrictedJob());

        ContainerFacts facts = inspect(id);
        List<CisResult> results = benchmark.evaluate(facts);
        System.out.println(CisReport.of(facts, results).markdown());

        for (CisResult r : results) {
            Status expected = CisBenchmarkTest.NOT_PASSING_FOR_A_RESTRICTED_JOB.getOrDefault(r.id(), PASS);
            assertEquals(expected, r.status(), () -> "CIS " + r.id() + " " + r.title() + ": " + r.evidence());
        }
        assertTrue(result(results, "5.2").evidence().contains("lists no apparmor"), result(results, "5.2").evidence());
        assertTrue(result(results, "5.22").evidence().contains(restricted.seccomp().digest().toString()),
                "the engine holds exactly the policy's profile: " + result(results, "5.22").evidence());
        assertTrue(result(results, "5.28").evidence().contains("Config.Image=" + imageId), result(results, "5.28").evidence());
    }

    @Test
    void theVerdictsAreTheSameBeforeStartAndAfterTheJobRan() throws IOException, InterruptedException {
        String id = create(restrictedJob());
        List<String> beforeStart = verdicts(benchmark.evaluate(inspect(id)));

        docker.startContainerCmd(id).exec();
        long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
        while (Boolean.TRUE.equals(docker.inspectContainerCmd(id).exec().getState().getRunning())) {
            if (System.nanoTime() > deadline) {
                fail("the job container did not exit within " + EXIT_WAIT.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
        Long exit = docker.inspectContainerCmd(id).exec().getState().getExitCodeLong();
        assertEquals(0L, exit, "the restricted job ran to completion under its own seccomp profile");

        assertEquals(beforeStart, verdicts(benchmark.evaluate(inspect(id))),
                "inspect after create already shows everything section 5 judges");
    }

    @Test
    void aWeakContainerFailsTheItemsItBreaks() {
        HostConfig weak = HostConfig.newHostConfig()
                .withPrivileged(true)
                .withNetworkMode("host")
                .withBinds(new Bind("/var/run/docker.sock", new Volume("/var/run/docker.sock")));
        String id = create(docker.createContainerCmd(IMAGE)
                .withName("cloister-cis-weak-" + UUID.randomUUID())
                .withLabels(Map.of("dev.cloister.test", "CisOnEngineTest"))
                .withCmd("true")
                .withHostConfig(weak));

        ContainerFacts facts = inspect(id);
        List<CisResult> results = benchmark.evaluate(facts);
        System.out.println(CisReport.of(facts, results).markdown());

        Set<String> failed = new TreeSet<>(results.stream().filter(r -> r.status() == FAIL).map(CisResult::id).toList());
        // privileged (5.4, 5.5, 5.18, 5.22), host network (5.10), the socket (5.32), and Docker's defaults: writable
        // root, no memory/CPU/PIDs limit, no no-new-privileges, created from a tag.
        Set<String> expected = new TreeSet<>(List.of("5.4", "5.5", "5.10", "5.11", "5.12", "5.13", "5.18", "5.22",
                "5.26", "5.28", "5.29", "5.32"));
        assertEquals(expected, failed, () -> CisReport.of(facts, results).markdown());
        assertTrue(result(results, "5.5").evidence().contains("Privileged=true"), result(results, "5.5").evidence());
        assertTrue(result(results, "5.10").evidence().contains("NetworkMode=host"), result(results, "5.10").evidence());
        assertTrue(result(results, "5.32").evidence().contains("/var/run/docker.sock → /var/run/docker.sock (rw"),
                result(results, "5.32").evidence());
        assertEquals(Status.CANNOT_PASS_ON_HOST, result(results, "5.2").status());
    }

    /**
     * The create request {@code ContainerSpecMapper.apply} makes for a plan admitted under the restricted policy:
     * the same calls in the same order, values from the policy file (plan constants: read-only root, no network,
     * no-new-privileges, every capability dropped, init).
     */
    CreateContainerCmd restrictedJob() throws IOException {
        String jobId = "cis-" + UUID.randomUUID();
        long memory = restricted.limits().memory().bytes();
        Map<String, String> tmpfs = new LinkedHashMap<>();
        tmpfs.put("/tmp", "rw,nosuid,nodev,noexec,size=" + restricted.tmpSize().bytes());
        List<Mount> mounts = new ArrayList<>();
        for (String target : List.of("/data", "/opt/ml/input/config", "/out")) {
            Path source = Files.createDirectories(tmp.resolve(target.substring(1).replace('/', '-')));
            mounts.add(new Mount().withType(MountType.BIND).withSource(source.toString()).withTarget(target)
                    .withReadOnly(false).withBindOptions(new BindOptions().withPropagation(BindPropagation.R_PRIVATE)));
        }
        HostConfig host = HostConfig.newHostConfig()
                .withRuntime(restricted.runtime().engineName())
                .withNetworkMode("none")
                .withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges", "seccomp=" + restricted.seccomp().json()))
                .withReadonlyRootfs(true)
                .withInit(true)
                .withPidsLimit(restricted.limits().pids())
                .withMemory(memory)
                .withMemorySwap(memory)
                .withNanoCPUs(Math.round(restricted.limits().cpus() * 1_000_000_000L))
                .withShmSize(restricted.shmSize().bytes())
                .withTmpFs(tmpfs)
                .withMounts(mounts)
                .withLogConfig(new LogConfig(LogConfig.LoggingType.JSON_FILE, Map.of(
                        "max-size", Long.toString(restricted.logSize().bytes()), "max-file", "1")))
                .withPrivileged(false)
                .withPublishAllPorts(false);
        // Cloister creates from the image ID it resolved, never from a tag.
        return docker.createContainerCmd(imageId)
                .withName("cloister-" + jobId)
                .withEntrypoint(List.of())
                .withCmd(List.of("python3", "-c", "import numpy; print('cis', numpy.__version__)"))
                .withEnv(List.of("HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1"))
                .withUser(restricted.user().toString())
                .withLabels(Map.of("dev.cloister.managed", "true", "dev.cloister.job-id", jobId,
                        "dev.cloister.test", "CisOnEngineTest"))
                .withStopTimeout((int) Math.max(1, restricted.stopGrace().toSeconds()))
                .withAttachStdin(false).withStdinOpen(false).withTty(false)
                .withHostConfig(host);
    }

    String create(CreateContainerCmd cmd) {
        String id = cmd.exec().getId();
        created.add(id);
        return id;
    }

    ContainerFacts inspect(String id) {
        return InspectFacts.from(docker.inspectContainerCmd(id).exec(), engine);
    }

    static CisResult result(List<CisResult> results, String id) {
        return results.stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow();
    }

    static List<String> verdicts(List<CisResult> results) {
        return results.stream().map(r -> r.id() + " " + r.status()).toList();
    }
}
