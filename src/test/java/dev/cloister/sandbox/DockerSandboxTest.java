package dev.cloister.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.MountType;
import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.policy.ByteSize;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ContainerPlan.Mount;
import dev.cloister.policy.ContainerPlan.MountKind;
import dev.cloister.policy.ContainerRuntime;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Limits;
import dev.cloister.policy.SeccompProfile;
import dev.cloister.policy.UserId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link DockerSandbox} against the real engine (Docker 20.10, runc and runsc), the real trainer image and the
 * real training seccomp profile. Needs root and a running engine: {@code deploy/host-setup.sh} provides both.
 */
class DockerSandboxTest {

    static final URI ENGINE = URI.create("unix:///var/run/docker.sock");
    static final String IMAGE_TAG = "cloister/trainer-base:bookworm";
    static final String REPOSITORY = "cloister/trainer-base";
    static final Path PROFILE = Path.of("seccomp-profiles/training.json");
    static final Path GVISOR_PROFILE = Path.of("seccomp-profiles/training-gvisor.json");
    static final UserId USER = new UserId(1000, 1000);
    static final String HYPERPARAMETERS = "{\"epochs\":3,\"learning_rate\":0.01,\"secret_note\":\"hunter2\"}";
    static final ObjectMapper JSON = new ObjectMapper();

    static DockerClient docker;
    static DockerSandbox sandbox;
    static ImageRef image;
    static SeccompProfile seccomp;
    static SeccompProfile gvisorSeccomp;

    @TempDir
    Path tmp;

    @BeforeAll
    static void engine() throws IOException {
        String setup = " Run deploy/host-setup.sh (as root) to install and start the engine and build the image.";
        docker = DockerSandbox.connect(ENGINE, DockerTimeouts.defaults());
        try {
            docker.pingCmd().exec();
        } catch (RuntimeException e) {
            fail("the Docker engine does not answer at " + ENGINE + " (" + e.getMessage() + ")." + setup);
        }
        String id;
        try {
            id = docker.inspectImageCmd(IMAGE_TAG).exec().getId();
        } catch (NotFoundException e) {
            fail("image " + IMAGE_TAG + " is not on this host." + setup);
            return;
        }
        image = new ImageRef(REPOSITORY, Digest.parse(id));
        seccomp = profile(PROFILE);
        gvisorSeccomp = profile(GVISOR_PROFILE);
        sandbox = new DockerSandbox(docker, DockerTimeouts.defaults());
    }

    static SeccompProfile profile(Path file) throws IOException {
        assertTrue(Files.isRegularFile(file), file + " is missing: the sandbox tests run the real training profiles");
        String json = Files.readString(file, StandardCharsets.UTF_8);
        return new SeccompProfile(file.getFileName().toString(), json, Digest.of(json));
    }

    @AfterAll
    static void close() throws IOException {
        if (sandbox != null) {
            sandbox.close();
        }
        if (docker != null) {
            docker.close();
        }
    }

    // ---------------------------------------------------------------------------------------------- image pinning

    @Test
    void resolvesALocallyBuiltImageByItsImageId() throws Exception {
        ResolvedImage resolved = sandbox.resolve(image);

        assertEquals(ResolvedImage.PinKind.IMAGE_ID, resolved.pinnedBy());
        assertEquals(image.digest(), resolved.imageId());
    }

    @Test
    void refusesAnImageThatIsNotOnTheHost() {
        ImageRef absent = new ImageRef(REPOSITORY, Digest.of("no such image"));

        SandboxException e = assertThrows(SandboxException.class, () -> sandbox.resolve(absent));

        assertEquals(SandboxException.Kind.IMAGE_NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("is not on this host") && e.getMessage().contains("never pulls"),
                e.getMessage());
    }

    @Test
    void refusesTheRightImageIdUnderAnotherRepository() {
        ImageRef elsewhere = new ImageRef("someone/else", image.digest());

        SandboxException e = assertThrows(SandboxException.class, () -> sandbox.resolve(elsewhere));

        assertEquals(SandboxException.Kind.IMAGE_NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("not tagged as repository 'someone/else'"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------------ happy path

    @Test
    void collectsOutputsReadsConfigAndWritesTheLog() throws Exception {
        Plan p = plan(python("""
                import json, os, sys
                hp = open('/opt/ml/input/config/hyperparameters.json').read()
                rows = open('/data/train.csv').read().splitlines()
                os.makedirs('/out/sub/dir')
                open('/out/model.txt', 'w').write('weights for %d rows, hp=%s' % (len(rows), json.loads(hp)['epochs']))
                open('/out/sub/dir/blob.bin', 'wb').write(bytes(range(256)))
                open('/out/hp-copy.json', 'w').write(hp)
                print('training on', len(rows), 'rows', flush=True)
                print('a warning', file=sys.stderr, flush=True)
                print('token seen' if os.environ.get('API_TOKEN') == 'tok-123' else 'no token', flush=True)
                """));
        AtomicReference<String> startedId = new AtomicReference<>();
        AtomicReference<Instant> startedAt = new AtomicReference<>();
        Instant before = Instant.now().minusSeconds(1);

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> {
            startedId.set(id);
            startedAt.set(at);
        });

        assertEquals(RunOutcome.EXITED, r.outcome(), () -> describe(r, p));
        assertEquals(0, r.exitCode(), () -> describe(r, p));
        assertNotNull(startedId.get(), "listener told of the start");
        assertTrue(startedAt.get().isAfter(before) && !startedAt.get().isAfter(r.finishedAt()),
                "start time comes from the engine: " + startedAt.get());
        assertEquals(r.startedAt(), startedAt.get());
        assertEquals(List.of("hp-copy.json", "model.txt", "sub/dir/blob.bin"),
                r.outputs().stream().map(RunResult.OutputFile::path).toList());
        assertEquals("weights for 3 rows, hp=3", Files.readString(p.artifacts.resolve("model.txt")));
        assertEquals(HYPERPARAMETERS, Files.readString(p.artifacts.resolve("hp-copy.json")),
                "hyperparameters reach the job byte for byte");
        assertEquals(256, Files.size(p.artifacts.resolve("sub/dir/blob.bin")));
        assertEquals(256, r.outputs().get(2).size());
        assertEquals(List.of(), r.outputProblems());
        assertNull(r.failure());

        String log = Files.readString(SandboxRuntime.logFile(p.plan));
        assertTrue(log.contains("training on 3 rows\n") && log.contains("a warning\n") && log.contains("token seen\n"),
                "stdout and stderr are in the job log, without timestamps: " + log);
        assertFalse(log.matches("(?s).*\\d{4}-\\d\\d-\\d\\dT.*"), "no engine timestamps in the log: " + log);

        Path config = p.plan.workDir().resolve("config");
        assertEquals("rwxr-xr-x", mode(config));
        assertEquals("rw-r--r--", mode(config.resolve("hyperparameters.json")));
        assertEquals(HYPERPARAMETERS, Files.readString(config.resolve("hyperparameters.json")));
        assertEquals("rwx------", mode(p.plan.workDir()));
        assertEquals(0, Files.getAttribute(p.plan.workDir(), "unix:uid"));
        assertEquals("rwx------", mode(p.plan.workDir().resolve("out")));
        assertEquals(1000, Files.getAttribute(p.plan.workDir().resolve("out"), "unix:uid"));
        assertCleanedUp(p);
    }

    @Test
    void containerIsCreatedExactlyAsThePlanSays() throws Exception {
        Plan p = plan(List.of("sh", "-c", "sleep 30"));
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<String> containerId = new AtomicReference<>();
        CompletableFuture<RunResult> run = CompletableFuture.supplyAsync(() -> runQuietly(p, (id, at) -> {
            containerId.set(id);
            started.countDown();
        }));
        assertTrue(started.await(30, TimeUnit.SECONDS), "the job started");
        try {
            var c = docker.inspectContainerCmd(containerId.get()).exec();
            var hc = c.getHostConfig();
            assertEquals("/cloister-" + p.plan.jobId(), c.getName());
            assertEquals("sh", c.getPath(), "the image's entrypoint is reset: the process is the plan's argv");
            assertEquals(List.of("-c", "sleep 30"), List.of(c.getArgs()));
            assertEquals("1000:1000", c.getConfig().getUser());
            assertEquals("none", hc.getNetworkMode());
            assertEquals("runc", hc.getRuntime());
            assertEquals("[ALL]", Arrays.toString(hc.getCapDrop()));
            assertEquals(null, hc.getCapAdd());
            assertTrue(hc.getReadonlyRootfs());
            assertTrue(hc.getInit());
            assertEquals(256L << 20, hc.getMemory());
            assertEquals(256L << 20, hc.getMemorySwap());
            assertEquals(500_000_000L, hc.getNanoCPUs());
            assertEquals(64L, hc.getPidsLimit());
            assertEquals(16L << 20, hc.getShmSize());
            assertEquals(Map.of("/tmp", "rw,nosuid,nodev,noexec,size=16777216"), hc.getTmpFs());
            assertEquals(2, hc.getSecurityOpts().size());
            assertEquals("no-new-privileges", hc.getSecurityOpts().get(0));
            assertTrue(hc.getSecurityOpts().get(1).startsWith("seccomp="));
            assertEquals("json-file", hc.getLogConfig().getType().getType());
            assertEquals("65536", hc.getLogConfig().getConfig().get("max-size"));
            assertEquals("1", hc.getLogConfig().getConfig().get("max-file"));
            assertTrue(hc.getPortBindings() == null || hc.getPortBindings().getBindings().isEmpty());
            assertTrue(hc.getBinds() == null || hc.getBinds().length == 0, "no legacy binds");
            assertEquals(Set.of("/data", "/opt/ml/input/config", "/out"),
                    c.getMounts().stream().map(m -> m.getDestination().getPath()).collect(Collectors.toSet()),
                    "no mounts beyond the plan's");
            assertTrue(c.getConfig().getLabels().entrySet().containsAll(p.plan.labels().entrySet()),
                    "the plan's labels (next to the image's own): " + c.getConfig().getLabels());
            assertFalse(String.join(" ", c.getConfig().getEnv()).isEmpty());
        } finally {
            sandbox.cancel(p.plan.jobId());
        }
        assertEquals(RunOutcome.CANCELLED, run.get(30, TimeUnit.SECONDS).outcome());
        assertCleanedUp(p);
    }

    @Test
    void returnsTheJobsFailureText() throws Exception {
        Plan p = plan(python("""
                import sys
                open('/out/failure', 'w').write('  column "age" is missing in /data/train.csv\\n\\n')
                sys.exit(3)
                """));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(RunOutcome.EXITED, r.outcome());
        assertEquals(3, r.exitCode());
        assertEquals("column \"age\" is missing in /data/train.csv", r.failure());
        assertEquals(List.of("failure"), r.outputs().stream().map(RunResult.OutputFile::path).toList(),
                "the failure file is also kept as an output");
        assertCleanedUp(p);
    }

    // ------------------------------------------------------------------------------------------------ limits

    @Test
    void aMemoryHogIsOomKilled() throws Exception {
        Plan p = plan(python("""
                chunks = []
                while True:
                    chunks.append(bytearray(8 << 20))
                """), b -> b.memory = ByteSize.mebibytes(64));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(RunOutcome.OOM_KILLED, r.outcome(), () -> describe(r, p));
        assertEquals(137, r.exitCode());
        assertCleanedUp(p);
    }

    @Test
    void aSleeperIsStoppedAtItsDeadline() throws Exception {
        Plan p = plan(List.of("sleep", "600"), b -> b.maxRuntime = Duration.ofSeconds(3));
        long t0 = System.nanoTime();

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(RunOutcome.TIMED_OUT, r.outcome());
        assertEquals(143, r.exitCode(), "SIGTERM reached the job through the container's init");
        assertTrue(took.compareTo(Duration.ofSeconds(3)) >= 0 && took.compareTo(Duration.ofSeconds(8)) < 0,
                "stopped after 3 s, within the grace: took " + took.toMillis() + " ms");
        assertCleanedUp(p);
    }

    @Test
    void aJobThatIgnoresSigtermIsKilledAfterTheGrace() throws Exception {
        Plan p = plan(python("""
                import signal, time
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                print('ignoring SIGTERM', flush=True)
                time.sleep(600)
                """), b -> b.maxRuntime = Duration.ofSeconds(2));
        long t0 = System.nanoTime();

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(RunOutcome.TIMED_OUT, r.outcome());
        assertEquals(137, r.exitCode(), "SIGKILL after the grace");
        assertTrue(took.compareTo(Duration.ofSeconds(4)) >= 0 && took.compareTo(Duration.ofSeconds(9)) < 0,
                "deadline 2 s + grace 2 s: took " + took.toMillis() + " ms");
        assertCleanedUp(p);
    }

    @Test
    void cancelStopsARunningJob() throws Exception {
        Plan p = plan(List.of("sleep", "600"));
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<RunResult> run = CompletableFuture.supplyAsync(() -> runQuietly(p, (id, at) -> started.countDown()));
        assertTrue(started.await(30, TimeUnit.SECONDS), "the job started");
        long t0 = System.nanoTime();

        sandbox.cancel(p.plan.jobId());
        RunResult r = run.get(30, TimeUnit.SECONDS);

        assertEquals(RunOutcome.CANCELLED, r.outcome());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(5)) < 0, "cancel is prompt");
        sandbox.cancel(p.plan.jobId()); // idempotent, and a no-op once the job is gone
        assertCleanedUp(p);
    }

    @Test
    void theLogIsCappedAndTheJobIsNotBlocked() throws Exception {
        Plan p = plan(python("""
                import sys
                for i in range(20000):
                    print('line %05d of a chatty job' % i)
                open('/out/done', 'w').write('yes')
                """));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode());
        assertEquals(List.of("done"), r.outputs().stream().map(RunResult.OutputFile::path).toList());
        String text = Files.readString(SandboxRuntime.logFile(p.plan));
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 20000; i++) {
            all.append(String.format("line %05d of a chatty job%n", i));
        }
        String kept = all.substring(0, 65536);
        assertEquals(kept + (kept.endsWith("\n") ? "" : "\n") + JobLog.TRUNCATED + "64k\n", text,
                "exactly the first 64 KiB of output, then the truncation note");
        assertCleanedUp(p);
    }

    @Test
    void aQuietJobsLogSurvivesTheTransportTimeout() throws Exception {
        DockerTimeouts shortApi = new DockerTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(2),
                Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofMillis(250), Duration.ofSeconds(120));
        Plan p = plan(python("""
                import time
                print('before the pause', flush=True)
                time.sleep(5)
                print('after the pause', flush=True)
                """));
        try (DockerClient client = DockerSandbox.connect(ENGINE, shortApi);
             DockerSandbox quick = new DockerSandbox(client, shortApi)) {

            RunResult r = quick.run(p.plan, p.artifacts, (id, at) -> { });

            assertEquals(0, r.exitCode());
        }
        assertEquals("before the pause\nafter the pause\n", Files.readString(SandboxRuntime.logFile(p.plan)),
                "each line exactly once, although the follow stream timed out during the pause");
        assertCleanedUp(p);
    }

    // ------------------------------------------------------------------------------------------- confinement

    static final String NETWORK_PROBE = """
            import json, os, socket
            r = {'interfaces': sorted(os.listdir('/sys/class/net'))}
            try:
                socket.create_connection(('10.0.0.1', 80), timeout=2)
                r['connect'] = 'connected'
            except OSError as e:
                r['connect'] = e.errno
            try:
                socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
                r['vsock'] = 'created'
            except OSError as e:
                r['vsock'] = e.errno
            json.dump(r, open('/out/net.json', 'w'))
            """;

    @Test
    void theTrainingProfileRefusesEverySocketButUnix() throws Exception {
        Plan p = plan(python(NETWORK_PROBE));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        JsonNode net = JSON.readTree(p.artifacts.resolve("net.json").toFile());
        assertEquals("[\"lo\"]", net.get("interfaces").toString(), "only the loopback interface");
        assertEquals(97, net.get("connect").asInt(), "AF_INET refused by seccomp (EAFNOSUPPORT): " + net);
        assertEquals(97, net.get("vsock").asInt(), "AF_VSOCK refused by seccomp (EAFNOSUPPORT): " + net);
        assertCleanedUp(p);
    }

    @Test
    void withoutTheProfileTheNetworkIsStillUnreachable() throws Exception {
        // Docker's default profile lets AF_INET sockets through: what stops them then is network mode none.
        SeccompProfile dockerDefault = profile(Path.of("seccomp-profiles/docker-default.json"));
        Plan p = plan(python(NETWORK_PROBE), b -> b.seccomp = dockerDefault);

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        JsonNode net = JSON.readTree(p.artifacts.resolve("net.json").toFile());
        assertEquals("[\"lo\"]", net.get("interfaces").toString(), "only the loopback interface");
        assertEquals(101, net.get("connect").asInt(), "ENETUNREACH: " + net);
        assertCleanedUp(p);
    }

    @Test
    void theJobIsLockedDown() throws Exception {
        Plan p = plan(python(LOCKDOWN_PROBE));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        JsonNode probe = JSON.readTree(p.artifacts.resolve("probe.json").toFile());
        assertEquals(30, probe.get("write_etc").asInt(), "rootfs is read-only (EROFS): " + probe);
        assertEquals(30, probe.get("write_data").asInt(), "/data is read-only (EROFS): " + probe);
        assertEquals("ok", probe.get("write_out").asText());
        assertEquals("ok", probe.get("write_tmp").asText());
        assertEquals("1000", probe.get("id_u").asText(), "`id -u` is the plan's uid");
        assertEquals("1000", probe.get("id_g").asText());
        assertEquals("0000000000000000", probe.get("CapEff").asText());
        assertEquals("0000000000000000", probe.get("CapBnd").asText());
        assertEquals("1", probe.get("NoNewPrivs").asText());
        assertEquals("2", probe.get("Seccomp").asText(), "seccomp filter mode");
        for (String target : List.of("/data", "/out", "/opt/ml/input/config", "/tmp")) {
            Set<String> options = Set.of(probe.get("mounts").get(target).asText().split(","));
            assertTrue(options.containsAll(Set.of("nosuid", "nodev", "noexec")), target + " has " + options);
        }
        assertTrue(Set.of(probe.get("mounts").get("/data").asText().split(",")).contains("ro"));
        assertTrue(Set.of(probe.get("mounts").get("/opt/ml/input/config").asText().split(",")).contains("ro"));
        assertEquals(13, probe.get("exec_out").asInt(), "noexec on /out (EACCES): " + probe);
        assertEquals(13, probe.get("exec_tmp").asInt(), "noexec on /tmp (EACCES): " + probe);
        assertCleanedUp(p);
    }

    /**
     * Why {@link JobWorkspace} stages every input as a flagged host mount and binds it without Docker's "ro": asked
     * for a read-only bind, runc 1.1 remounts it with MS_RDONLY alone, and the host mount's nosuid, nodev and noexec
     * are gone; a plain bind inherits all of them, ro included. Should this test fail, runc has changed and the
     * mapping can be revisited.
     */
    @Test
    void runcDropsTheFlagsOfADockerReadOnlyBindButAPlainBindInheritsThem() throws Exception {
        Path source = Files.createDirectories(tmp.resolve("source"));
        Path staged = Files.createDirectories(tmp.resolve("staged")).toRealPath();
        HostMounts host = new HostMounts(Duration.ofSeconds(10));
        host.bind(source, staged, "ro,nosuid,nodev,noexec");
        try {
            assertEquals(Set.of("ro", "relatime"), mountOptionsSeenInside(staged, true),
                    "Docker's ro: runc's remount cleared nosuid, nodev and noexec");
            assertTrue(mountOptionsSeenInside(staged, false).containsAll(Set.of("ro", "nosuid", "nodev", "noexec")),
                    "a plain bind of the flagged mount keeps every flag");
        } finally {
            host.unmount(staged);
        }
    }

    static Set<String> mountOptionsSeenInside(Path hostSource, boolean dockerReadOnly) throws Exception {
        String id = docker.createContainerCmd(image.digest().toString())
                .withEntrypoint(List.of()).withCmd("cat", "/proc/self/mountinfo").withUser("1000:1000")
                .withLabels(Map.of("dev.cloister.test", "DockerSandboxTest"))
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode("none").withCapDrop(Capability.ALL)
                        .withMounts(List.of(new com.github.dockerjava.api.model.Mount().withType(MountType.BIND)
                                .withSource(hostSource.toString()).withTarget("/probe").withReadOnly(dockerReadOnly))))
                .exec().getId();
        try {
            docker.startContainerCmd(id).exec();
            assertEquals(0, docker.waitContainerCmd(id).start().awaitStatusCode(30, TimeUnit.SECONDS));
            StringBuilder out = new StringBuilder();
            docker.logContainerCmd(id).withStdOut(true).withStdErr(true).exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    out.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                }
            }).awaitCompletion(30, TimeUnit.SECONDS);
            return new TreeSet<>(MountTable.parse(List.of(out.toString().split("\n"))).options("/probe"));
        } finally {
            docker.removeContainerCmd(id).withForce(true).exec();
        }
    }

    static final String LOCKDOWN_PROBE = """
            import json, os, shutil, subprocess
            r = {}
            def attempt(name, f):
                try:
                    f()
                    r[name] = 'ok'
                except OSError as e:
                    r[name] = e.errno
            attempt('write_etc', lambda: open('/etc/cloister-probe', 'w'))
            attempt('write_data', lambda: open('/data/cloister-probe', 'w'))
            attempt('write_out', lambda: open('/out/probe-write', 'w').close())
            attempt('write_tmp', lambda: open('/tmp/probe-write', 'w').close())
            r['id_u'] = subprocess.run(['id', '-u'], capture_output=True, text=True).stdout.strip()
            r['id_g'] = subprocess.run(['id', '-g'], capture_output=True, text=True).stdout.strip()
            for line in open('/proc/self/status'):
                k, _, v = line.partition(':')
                if k in ('CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp'):
                    r[k] = v.strip()
            r['mounts'] = {}
            for line in open('/proc/self/mountinfo'):
                f = line.split()
                r['mounts'][f[4]] = f[5]
            for d in ('/out', '/tmp'):
                shutil.copy('/bin/true', d + '/true')
                os.chmod(d + '/true', 0o755)
                attempt('exec_' + d[1:], lambda: subprocess.run([d + '/true']))
            os.remove('/out/true')
            os.remove('/out/probe-write')
            json.dump(r, open('/out/probe.json', 'w'))
            """;

    @Test
    void aProfileTheEngineCannotLoadFailsTheRunAndLeavesNothingBehind() throws Exception {
        SeccompProfile broken = new SeccompProfile("broken.json", "{\"defaultAction\": 42}", Digest.of("broken"));
        Plan p = plan(List.of("true"), b -> b.seccomp = broken);
        long t0 = System.nanoTime();

        SandboxException e = assertThrows(SandboxException.class, () -> sandbox.run(p.plan, p.artifacts, (id, at) -> {
            fail("a container with an unloadable profile must not start");
        }));

        assertEquals(SandboxException.Kind.ENGINE, e.kind());
        assertTrue(e.getMessage().contains("seccomp"), e.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(5)) < 0, "fails fast");
        assertFalse(Files.exists(p.artifacts));
        assertCleanedUp(p);
    }

    // ------------------------------------------------------------------------------------------------ outputs

    @Test
    void linksAndSpecialFilesAreRefusedWithAReason() throws Exception {
        Plan p = plan(python("""
                import os
                open('/out/ok.txt', 'w').write('fine')
                os.symlink('/etc/passwd', '/out/passwd-link')
                os.makedirs('/out/d')
                os.symlink('/data', '/out/d/data-dir-link')
                os.mkfifo('/out/pipe')
                """));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        assertEquals(List.of("ok.txt"), r.outputs().stream().map(RunResult.OutputFile::path).toList());
        assertEquals(List.of(
                        "d/data-dir-link: not collected, symbolic links are not outputs",
                        "passwd-link: not collected, symbolic links are not outputs",
                        "pipe: not collected, devices, FIFOs and sockets are not outputs"),
                r.outputProblems());
        assertFalse(Files.exists(p.artifacts.resolve("passwd-link"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(p.artifacts.resolve("pipe"), LinkOption.NOFOLLOW_LINKS));
        assertCleanedUp(p);
    }

    @Test
    void outputBeyondTheCapFailsInsideAndWhatWasWrittenIsCollectedIntact() throws Exception {
        Plan p = plan(python("""
                import errno
                open('/out/small.txt', 'w').write('s' * 1000)
                written = 0
                try:
                    with open('/out/big.bin', 'wb', buffering=0) as f:
                        while True:
                            written += f.write(b'x' * 65536)
                except OSError as e:
                    print('stopped by errno', e.errno, 'after', written, flush=True)
                """), b -> b.outputSize = ByteSize.mebibytes(1));

        RunResult r = sandbox.run(p.plan, p.artifacts, (id, at) -> { });

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        String log = Files.readString(SandboxRuntime.logFile(p.plan));
        assertTrue(log.startsWith("stopped by errno 28 after "), "ENOSPC inside the container: " + log);
        long written = Long.parseLong(log.strip().substring(log.strip().lastIndexOf(' ') + 1));
        assertEquals(List.of("big.bin", "small.txt"), r.outputs().stream().map(RunResult.OutputFile::path).toList());
        assertEquals(written, Files.size(p.artifacts.resolve("big.bin")), "collected as far as the job wrote it");
        assertEquals(written, r.outputs().get(0).size());
        assertEquals("s".repeat(1000), Files.readString(p.artifacts.resolve("small.txt")));
        long total = r.outputs().stream().mapToLong(RunResult.OutputFile::size).sum();
        assertTrue(total <= (1 << 20) && total > (1 << 20) - (64 << 10), "total " + total + " is at the 1 MiB cap");
        assertEquals(List.of(), r.outputProblems());
        assertCleanedUp(p);
    }

    @Test
    void refusesAnArtifactDirectoryThatAlreadyHasContent() throws Exception {
        Plan p = plan(python("open('/out/x', 'w').write('x')"));
        Files.createDirectories(p.artifacts);
        Files.writeString(p.artifacts.resolve("stale"), "old");

        SandboxException e = assertThrows(SandboxException.class, () -> sandbox.run(p.plan, p.artifacts, (id, at) -> { }));

        assertEquals(SandboxException.Kind.OUTPUT, e.kind());
        assertEquals("old", Files.readString(p.artifacts.resolve("stale")));
        assertCleanedUp(p);
    }

    // ------------------------------------------------------------------------------------------------ gVisor

    @Test
    void aSimpleJobRunsUnderGvisor() throws Exception {
        Plan p = plan(python("""
                import json, os, threading
                import numpy as np
                hp = json.load(open('/opt/ml/input/config/hyperparameters.json'))
                t = threading.Thread(target=lambda: None)
                t.start()
                t.join()
                total = int(np.arange(10).sum())
                open('/out/result.txt', 'w').write('epochs=%d uid=%d sum=%d' % (hp['epochs'], os.getuid(), total))
                print('hello from gVisor', flush=True)
                """), this::underGvisor);

        RunResult r = runUnderGvisor(p);

        assertEquals(RunOutcome.EXITED, r.outcome(), () -> describe(r, p));
        assertEquals(0, r.exitCode(), () -> describe(r, p));
        assertEquals("epochs=3 uid=1000 sum=45", Files.readString(p.artifacts.resolve("result.txt")));
        assertTrue(Files.readString(SandboxRuntime.logFile(p.plan)).contains("hello from gVisor"));
        assertCleanedUp(p);
    }

    @Test
    void underGvisorTheJobIsLockedDownToo() throws Exception {
        Plan p = plan(python(GVISOR_PROBE), this::underGvisor);

        RunResult r = runUnderGvisor(p);

        assertEquals(0, r.exitCode(), () -> describe(r, p));
        JsonNode probe = JSON.readTree(p.artifacts.resolve("probe.json").toFile());
        // gVisor's gofer reports a refused write on a read-only host mount as EACCES, not EROFS.
        for (String write : List.of("write_etc", "write_data", "write_config")) {
            assertTrue(Set.of(13, 30).contains(probe.get(write).asInt()), write + " refused: " + probe);
        }
        assertEquals("ok", probe.get("write_out").asText());
        assertEquals("1000", probe.get("id_u").asText());
        assertEquals("0000000000000000", probe.get("CapEff").asText());
        assertEquals(1, probe.get("no_new_privs").asInt(), "prctl(PR_GET_NO_NEW_PRIVS)");
        assertEquals("2", probe.get("Seccomp").asText(), "runsc --oci-seccomp applies the profile: " + probe);
        assertEquals("[\"lo\"]", probe.get("interfaces").toString());
        assertFalse("connected".equals(probe.get("connect").asText()), "no network: " + probe);
        assertEquals(false, probe.get("exec_out_ran").asBoolean(),
                "the host's noexec on the /out tmpfs holds under gVisor too: " + probe);
        assertEquals(false, probe.get("exec_tmp_ran").asBoolean(), "noexec on /tmp: " + probe);
        assertCleanedUp(p);
    }

    static final String GVISOR_PROBE = """
            import ctypes, json, os, shutil, socket, subprocess
            r = {}
            def attempt(name, f):
                try:
                    f()
                    r[name] = 'ok'
                except OSError as e:
                    r[name] = e.errno
            attempt('write_etc', lambda: open('/etc/cloister-probe', 'w'))
            attempt('write_data', lambda: open('/data/cloister-probe', 'w'))
            attempt('write_config', lambda: open('/opt/ml/input/config/cloister-probe', 'w'))
            attempt('write_out', lambda: open('/out/probe-write', 'w').close())
            os.remove('/out/probe-write')
            r['id_u'] = subprocess.run(['id', '-u'], capture_output=True, text=True).stdout.strip()
            for line in open('/proc/self/status'):
                k, _, v = line.partition(':')
                if k in ('CapEff', 'Seccomp'):
                    r[k] = v.strip()
            r['no_new_privs'] = ctypes.CDLL(None).prctl(39, 0, 0, 0, 0)
            r['interfaces'] = sorted(os.listdir('/sys/class/net'))
            try:
                socket.create_connection(('10.0.0.1', 80), timeout=2)
                r['connect'] = 'connected'
            except OSError as e:
                r['connect'] = e.errno
            for d in ('/out', '/tmp'):
                shutil.copy('/bin/true', d + '/true')
                os.chmod(d + '/true', 0o755)
                try:
                    r['exec_' + d[1:] + '_ran'] = subprocess.run([d + '/true']).returncode == 0
                except OSError as e:
                    r['exec_' + d[1:] + '_ran'] = False
            os.remove('/out/true')
            json.dump(r, open('/out/probe.json', 'w'))
            """;

    private void underGvisor(Builder b) {
        b.runtime = ContainerRuntime.RUNSC;
        b.seccomp = gvisorSeccomp;
        b.pids = 512; // gVisor's own threads count against the pids limit
    }

    private RunResult runUnderGvisor(Plan p) {
        try {
            return sandbox.run(p.plan, p.artifacts, (id, at) -> { });
        } catch (SandboxException e) {
            return fail("runsc refused the plan: " + e.kind() + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** A plan as admission would make it, with the defaults of a small policy. */
    static final class Builder {
        List<String> argv;
        ContainerRuntime runtime = ContainerRuntime.RUNC;
        ByteSize memory = ByteSize.mebibytes(256);
        long pids = 64;
        Duration maxRuntime = Duration.ofSeconds(60);
        ByteSize outputSize = ByteSize.mebibytes(4);
        SeccompProfile seccomp = DockerSandboxTest.seccomp;
    }

    record Plan(ContainerPlan plan, Path artifacts) {
    }

    Plan plan(List<String> argv) throws IOException {
        return plan(argv, b -> { });
    }

    Plan plan(List<String> argv, Consumer<Builder> custom) throws IOException {
        Builder b = new Builder();
        b.argv = argv;
        custom.accept(b);
        String jobId = JobId.random(new SecureRandom()).value();
        Path data = tmp.resolve("dataset");
        Files.createDirectories(data);
        Files.writeString(data.resolve("train.csv"), "a,b\n1,2\n3,4\n");
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(data.resolve("train.csv"), PosixFilePermissions.fromString("rw-r--r--"));
        Path workDir = tmp.resolve("work").resolve(jobId);
        Map<String, String> labels = new TreeMap<>(Map.of("dev.cloister.managed", "true", "dev.cloister.job-id", jobId,
                "dev.cloister.test", "DockerSandboxTest"));
        ContainerPlan plan = new ContainerPlan(jobId, image, b.argv,
                Map.of("API_TOKEN", "tok-123", "HOME", "/tmp", "PYTHONDONTWRITEBYTECODE", "1"),
                USER, b.runtime, b.seccomp,
                List.of(new Mount(MountKind.DATASET, data, ContainerPlan.DATA_DIR, true, true, true, true),
                        new Mount(MountKind.CONFIG, workDir.resolve("config"), ContainerPlan.CONFIG_DIR, true, true, true, true),
                        new Mount(MountKind.OUTPUT, workDir.resolve("out"), ContainerPlan.OUTPUT_DIR, false, true, true, true)),
                List.of(new ContainerPlan.Tmpfs("/tmp", ByteSize.mebibytes(16), "rw,nosuid,nodev,noexec")),
                ByteSize.mebibytes(16), new Limits(b.memory, 0.5, b.pids, b.maxRuntime), Duration.ofSeconds(2),
                ByteSize.parse("64k"), b.outputSize, HYPERPARAMETERS, workDir, labels);
        return new Plan(plan, tmp.resolve("artifacts"));
    }

    static List<String> python(String script) {
        return List.of("python3", "-c", script.stripIndent());
    }

    RunResult runQuietly(Plan p, RunListener listener) {
        try {
            return sandbox.run(p.plan, p.artifacts, listener);
        } catch (SandboxException e) {
            throw new IllegalStateException(e.kind() + ": " + e.getMessage(), e);
        }
    }

    /** The run left nothing behind: no container, no host mount under the work directory. */
    void assertCleanedUp(Plan p) throws IOException {
        List<Container> left = docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of("dev.cloister.job-id", p.plan.jobId())).exec();
        assertEquals(List.of(), left.stream().map(Container::getId).toList(), "container removed");
        String work = p.plan.workDir().toRealPath().toString();
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String point = line.split(" ")[4];
            if (point.startsWith(work)) {
                mounts.add(point);
            }
        }
        assertEquals(List.of(), mounts, "host mounts removed");
    }

    static String describe(RunResult r, Plan p) {
        String log;
        try {
            log = Files.readString(SandboxRuntime.logFile(p.plan));
        } catch (IOException e) {
            log = "(no log: " + e.getMessage() + ")";
        }
        return r + "\n--- job log ---\n" + log;
    }

    static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
