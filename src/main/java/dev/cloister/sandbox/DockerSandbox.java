package dev.cloister.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.command.InspectContainerResponse.ContainerState;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.ContainerRuntime;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.ImageRef;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import dev.cloister.cis.CisBenchmark;
import dev.cloister.cis.CisResult;
import dev.cloister.cis.InspectFacts;

import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Runs plans as Docker containers (docker-java, engine API 1.41): no pulls, no network, every call bounded by a
 * named timeout, and every host mount and container removed again, whatever happens.
 */
public final class DockerSandbox implements SandboxRuntime, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(DockerSandbox.class);
    private static final String API_VERSION = "1.41";

    private final Engine engine;
    private final DockerTimeouts timeouts;
    private final HostMounts host;
    private final ConcurrentMap<String, Run> runs = new ConcurrentHashMap<>();
    private final RecentImages recentImages;

    /** @param docker a client of the local engine; closing this sandbox does not close it */
    public DockerSandbox(DockerClient docker, DockerTimeouts timeouts) {
        this(docker, timeouts, Duration.ZERO, java.time.Clock.systemUTC());
    }

    /**
     * @param imageRecheck how old an image's presence may be when a job is admitted ({@link #resolveForAdmission});
     *                     zero asks the engine every time
     */
    public DockerSandbox(DockerClient docker, DockerTimeouts timeouts, Duration imageRecheck, java.time.Clock clock) {
        this.engine = new Engine(docker, timeouts.api());
        this.timeouts = timeouts;
        this.host = new HostMounts(timeouts.mount());
        this.recentImages = new RecentImages(imageRecheck, clock);
    }

    /**
     * A client of the engine at {@code dockerHost} (a local {@code unix://} socket) over Apache HttpClient 5, with
     * the connect timeout and the api timeout as its response timeout.
     */
    public static DockerClient connect(URI dockerHost, DockerTimeouts timeouts) {
        if (!"unix".equals(dockerHost.getScheme())) {
            throw new IllegalArgumentException("the Docker engine must be a local unix:// socket, not " + dockerHost);
        }
        DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(dockerHost.toString())
                .withDockerTlsVerify(false)
                .withApiVersion(API_VERSION)
                .build();
        ApacheDockerHttpClient http = new ApacheDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .maxConnections(64)
                .connectionTimeout(timeouts.connect())
                .responseTimeout(timeouts.api())
                .build();
        return DockerClientImpl.getInstance(config, http);
    }

    @Override
    public ResolvedImage resolve(ImageRef image) throws SandboxException {
        try {
            return ImageResolver.resolve(engine, image);
        } catch (SandboxException e) {
            if (e.kind() == SandboxException.Kind.IMAGE_NOT_FOUND) {
                recentImages.forget(image);
            }
            throw e;
        }
    }

    @Override
    public ResolvedImage resolveForAdmission(ImageRef image) throws SandboxException {
        return recentImages.resolve(image, this::resolve);
    }

    @Override
    public RunResult run(ContainerPlan plan, Path artifactDir, RunListener listener) throws SandboxException {
        EngineRuntimes.check(engine, plan.runtime());
        ResolvedImage image = resolve(plan.image());
        Run run = new Run(plan.stopGrace());
        if (runs.putIfAbsent(plan.jobId(), run) != null) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "job " + plan.jobId() + " is already running");
        }
        try (JobWorkspace workspace = JobWorkspace.prepare(plan, host)) {
            String containerId = create(plan, image, workspace);
            run.containerId = containerId;
            try {
                listener.configured(containerId, benchmark(containerId));
                return execute(plan, run, containerId, workspace, artifactDir, listener);
            } finally {
                if (run.detached) {
                    workspace.keep(); // the container still uses the mounts; the next process settles them
                } else {
                    remove(containerId);
                }
            }
        } catch (DockerException e) {
            // Only "not found", "conflict" and "not modified" reach here unconverted (see Engine.call).
            throw new SandboxException(SandboxException.Kind.ENGINE, "the Docker engine refused a step of the run: "
                    + Messages.brief(e), e);
        } finally {
            runs.remove(plan.jobId(), run);
        }
    }

    // CIS section 5 judges what docker inspect shows after create; nothing is exec'd in the job's container.
    private List<CisResult> benchmark(String containerId) throws SandboxException {
        var inspect = engine.call("inspect container", d -> d.inspectContainerCmd(containerId).exec());
        var info = engine.call("engine info", d -> d.infoCmd().exec());
        return new CisBenchmark().evaluate(InspectFacts.from(inspect, info));
    }

    @Override
    public void cancel(String jobId) {
        Run run = runs.get(jobId);
        if (run == null) {
            return;
        }
        run.cancelled = true;
        String containerId = run.containerId;
        if (containerId != null) {
            try {
                stop(containerId, run.grace);
            } catch (SandboxException e) {
                LOG.warnf("cancelling job %s: %s", jobId, e.getMessage());
            }
        }
    }

    @Override
    public List<LeftContainer> containers(String key, String value) throws SandboxException {
        return engine.call("list containers", d -> d.listContainersCmd().withShowAll(true)
                        .withLabelFilter(java.util.Map.of(key, value)).exec()).stream()
                .map(c -> new LeftContainer(c.getId(),
                        c.getLabels() == null ? null : c.getLabels().get(dev.cloister.policy.Admission.LABEL_JOB),
                        "running".equals(c.getState())))
                .toList();
    }

    @Override
    public RunResult settle(ContainerPlan plan, String containerId, Path artifactDir) throws SandboxException {
        return settle(plan, containerId, artifactDir, true);
    }

    /**
     * @param takeLog whether to take the job's log again from the engine's copy: for a container that ran on while no
     *                service followed it, whose output since is only there
     */
    private RunResult settle(ContainerPlan plan, String containerId, Path artifactDir, boolean takeLog)
            throws SandboxException {
        ContainerState state = state(containerId);
        RunOutcome outcome = RunOutcome.EXITED;
        if (Boolean.TRUE.equals(state.getRunning())) {
            LOG.infof("job %s: stopping container %s left running by an earlier process", plan.jobId(), containerId);
            stop(containerId, plan.stopGrace());
            outcome = RunOutcome.CANCELLED;
            state = state(containerId);
        } else if (Boolean.TRUE.equals(state.getOOMKilled())) {
            outcome = RunOutcome.OOM_KILLED;
        }
        if (takeLog) {
            replayLog(plan, containerId).finish(timeouts.logDrain());
        }
        Long exit = state.getExitCodeLong();
        Instant startedAt = instant(state.getStartedAt(), null);
        Instant finishedAt = instant(state.getFinishedAt(), Instant.now());
        OutputCollector.Collected[] collected = new OutputCollector.Collected[1];
        JobWorkspace.reclaim(plan, host, out -> {
            if (out != null) {
                collected[0] = OutputCollector.collect(out, artifactDir, plan.outputSize().bytes());
            }
        });
        remove(containerId);
        OutputCollector.Collected out = collected[0] != null ? collected[0] : new OutputCollector.Collected(List.of(),
                List.of("the job's output directory did not survive the restart of the service"), null);
        LOG.infof("job %s: settled container %s: %s (exit %s), %d output(s)", plan.jobId(), containerId, outcome, exit,
                out.outputs().size());
        return new RunResult(outcome, exit == null ? null : exit.intValue(), startedAt, finishedAt, out.failure(),
                out.outputs(), out.problems());
    }

    @Override
    public RunResult resume(ContainerPlan plan, String containerId, Path artifactDir) throws SandboxException {
        Run run = new Run(plan.stopGrace());
        run.containerId = containerId;
        if (runs.putIfAbsent(plan.jobId(), run) != null) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "job " + plan.jobId() + " is already running");
        }
        try {
            ContainerState state = state(containerId);
            Instant startedAt = instant(state.getStartedAt(), Instant.now());
            // The deadline runs from the container's start, not from the takeover.
            long startedNanos = System.nanoTime() - Duration.between(startedAt, Instant.now()).toNanos();
            run.log = replayLog(plan, containerId);
            RunOutcome outcome;
            try {
                LOG.infof("job %s: following container %s again after a restart", plan.jobId(), containerId);
                outcome = awaitEnd(plan, run, containerId, startedNanos);
            } catch (SandboxException | RuntimeException e) {
                if (!run.detached) {
                    kill(containerId);
                }
                throw e;
            } finally {
                if (run.detached) {
                    run.log.discard();
                } else {
                    run.log.finish(timeouts.logDrain());
                }
            }
            RunResult settled = settle(plan, containerId, artifactDir, false);
            return outcome == RunOutcome.EXITED ? settled : new RunResult(outcome, settled.exitCode(),
                    settled.startedAt(), settled.finishedAt(), settled.failure(), settled.outputs(),
                    settled.outputProblems());
        } finally {
            runs.remove(plan.jobId(), run);
        }
    }

    @Override
    public void detach() {
        runs.values().forEach(r -> r.detached = true);
    }

    @Override
    public void reclaim(ContainerPlan plan) throws SandboxException {
        JobWorkspace.reclaim(plan, host, out -> { });
    }

    @Override
    public void release(Path workDir) throws SandboxException {
        JobWorkspace.release(workDir, host);
    }

    /** Stops the worker threads of bounded engine calls; the Docker client stays open. */
    @Override
    public void close() {
        engine.close();
    }

    private String create(ContainerPlan plan, ResolvedImage image, JobWorkspace workspace) throws SandboxException {
        String ref = image.imageId().toString();
        CreateContainerCmd cmd;
        try {
            cmd = ContainerSpecMapper.apply(engine.docker().createContainerCmd(ref), plan, workspace::hostSource);
        } catch (IllegalArgumentException e) {
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED, e.getMessage(), e);
        }
        try {
            CreateContainerResponse created = engine.call("create container", d -> cmd.exec());
            LOG.infof("job %s: created container %s from %s (%s, runtime %s)", plan.jobId(), created.getId(), ref,
                    image.pinnedBy(), plan.runtime().engineName());
            return created.getId();
        } catch (ConflictException e) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "a container named "
                    + ContainerSpecMapper.containerName(plan) + " already exists", e);
        } catch (NotFoundException e) {
            throw new SandboxException(SandboxException.Kind.IMAGE_NOT_FOUND, "image " + ref + " vanished before"
                    + " the container was created", e);
        }
    }

    private RunResult execute(ContainerPlan plan, Run run, String containerId, JobWorkspace workspace, Path artifactDir,
                              RunListener listener) throws SandboxException {
        if (run.cancelled) {
            return new RunResult(RunOutcome.CANCELLED, null, null, Instant.now(), null, List.of(),
                    List.of("the job was cancelled before its container started"));
        }
        // Attached before the start, so that the log has the job's output from its first byte.
        run.log = JobLog.attach(engine, containerId, SandboxRuntime.logFile(plan), plan.logSize().bytes(),
                plan.logSize().toString());
        Instant startedAt;
        RunOutcome outcome;
        boolean started = false;
        try {
            engine.run("start container", d -> d.startContainerCmd(containerId).exec());
            started = true;
            long startedNanos = System.nanoTime();
            ContainerState running = state(containerId);
            verifyContainerMounts(plan, containerId, running);
            startedAt = instant(running.getStartedAt(), Instant.now());
            listener.started(containerId, startedAt);
            outcome = awaitEnd(plan, run, containerId, startedNanos);
        } catch (SandboxException | RuntimeException e) {
            if (started && !run.detached) {
                kill(containerId); // so that the log drains at once; the caller's finally removes the container
            }
            throw e;
        } finally {
            if (started && !run.detached) {
                run.log.finish(timeouts.logDrain());
            } else {
                // Nothing ran, or the service let go of the run: the stream would only end with the container.
                run.log.discard();
            }
        }

        ContainerState end = state(containerId);
        if (outcome == RunOutcome.EXITED && Boolean.TRUE.equals(end.getOOMKilled())) {
            outcome = RunOutcome.OOM_KILLED;
        }
        Long exit = end.getExitCodeLong();
        Instant finishedAt = instant(end.getFinishedAt(), Instant.now());
        LOG.infof("job %s: container %s ended %s (exit %s)", plan.jobId(), containerId, outcome, exit);

        OutputCollector.Collected out = OutputCollector.collect(workspace.outputDir(), artifactDir,
                plan.outputSize().bytes());
        if (!out.problems().isEmpty()) {
            LOG.infof("job %s: %d output(s) refused", plan.jobId(), out.problems().size());
        }
        return new RunResult(outcome, exit == null ? null : exit.intValue(), startedAt, finishedAt, out.failure(),
                out.outputs(), out.problems());
    }

    // Polls until the container exits, the plan's deadline passes, or the job is cancelled; never longer.
    private RunOutcome awaitEnd(ContainerPlan plan, Run run, String containerId, long startedNanos)
            throws SandboxException {
        long deadline = startedNanos + plan.limits().maxRuntime().toNanos();
        while (true) {
            if (run.detached) {
                throw new SandboxException(SandboxException.Kind.DETACHED, "the service let go of the run at "
                        + "shutdown; container " + containerId + " runs on");
            }
            if (!Boolean.TRUE.equals(stateThroughOutage(plan, run, containerId).getRunning())) {
                return run.cancelled ? RunOutcome.CANCELLED : RunOutcome.EXITED;
            }
            if (run.cancelled) {
                stop(containerId, plan.stopGrace());
                return RunOutcome.CANCELLED;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                LOG.infof("job %s: deadline of %s reached, stopping", plan.jobId(), plan.limits().maxRuntime());
                stop(containerId, plan.stopGrace());
                return RunOutcome.TIMED_OUT;
            }
            sleep(Math.min(timeouts.poll().toNanos(), left));
        }
    }

    /**
     * The state of a running job's container, waiting out an engine that stopped answering: a dockerd restart closes
     * every connection (the attached output stream too) while live-restore keeps the container running. Once the
     * engine answers again the log is taken again whole from the engine's copy, so nothing printed meanwhile is lost.
     */
    private ContainerState stateThroughOutage(ContainerPlan plan, Run run, String containerId) throws SandboxException {
        long since = System.nanoTime();
        boolean outage = false;
        while (true) {
            ContainerState state;
            try {
                state = stateOrNull(containerId);
            } catch (SandboxException e) {
                if (e.kind() != SandboxException.Kind.ENGINE) {
                    throw e;
                }
                if (!outage) {
                    outage = true;
                    LOG.warnf("job %s: the Docker engine stopped answering (%s); waiting up to %s for it, the "
                            + "container keeps running under live-restore", plan.jobId(), e.getMessage(),
                            DurationText.format(timeouts.outage()));
                }
                if (System.nanoTime() - since > timeouts.outage().toNanos()) {
                    throw new SandboxException(SandboxException.Kind.ENGINE, "the Docker engine did not answer for "
                            + DurationText.format(timeouts.outage()) + " while the job ran: " + e.getMessage(), e);
                }
                if (run.detached) {
                    throw new SandboxException(SandboxException.Kind.DETACHED, "the service let go of the run at "
                            + "shutdown while the engine was unreachable; container " + containerId + " runs on");
                }
                sleep(timeouts.poll().toNanos());
                continue;
            }
            if (state == null) {
                throw new SandboxException(SandboxException.Kind.ENGINE, "container " + containerId
                        + " was removed while the job ran");
            }
            if (outage) {
                LOG.infof("job %s: the Docker engine answers again after %d s; container %s is %s, taking its log"
                        + " again from the engine", plan.jobId(), (System.nanoTime() - since) / 1_000_000_000L,
                        containerId, Boolean.TRUE.equals(state.getRunning()) ? "running" : "exited");
                run.log.discard();
                run.log = replayLog(plan, containerId);
            }
            return state;
        }
    }

    private JobLog replayLog(ContainerPlan plan, String containerId) throws SandboxException {
        return JobLog.replay(engine, containerId, SandboxRuntime.logFile(plan), plan.logSize().bytes(),
                plan.logSize().toString());
    }

    /** SIGTERM (forwarded by the container's init to the job), then SIGKILL once the grace has passed. */
    private void stop(String containerId, Duration grace) throws SandboxException {
        signal(containerId, "SIGTERM");
        if (awaitExit(containerId, grace)) {
            return;
        }
        signal(containerId, "SIGKILL");
        if (!awaitExit(containerId, timeouts.api())) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "container " + containerId
                    + " did not stop within " + timeouts.api().toSeconds() + " s of SIGKILL");
        }
    }

    private void signal(String containerId, String signal) throws SandboxException {
        try {
            engine.run("signal container", d -> d.killContainerCmd(containerId).withSignal(signal).exec());
        } catch (ConflictException | NotFoundException | NotModifiedException e) {
            LOG.debugf("container %s not running for %s: %s", containerId, signal, Messages.brief(e));
        }
    }

    private void kill(String containerId) {
        try {
            signal(containerId, "SIGKILL");
        } catch (SandboxException | RuntimeException e) {
            LOG.warnf("could not kill container %s: %s", containerId, Messages.brief(e));
        }
    }

    private boolean awaitExit(String containerId, Duration within) throws SandboxException {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            ContainerState state = stateOrNull(containerId);
            if (state == null || !Boolean.TRUE.equals(state.getRunning())) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            sleep(Math.min(timeouts.poll().toNanos(), left));
        }
    }

    /**
     * Defence in depth for runc: reads the job's own mount table from the host and refuses to go on if a mount lacks
     * a flag of the plan. (Under runsc the job's mounts live in gVisor's kernel, invisible from here; the flags are
     * enforced on the host mounts that gVisor's gofer serves, checked before create.)
     */
    private void verifyContainerMounts(ContainerPlan plan, String containerId, ContainerState state)
            throws SandboxException {
        if (plan.runtime() != ContainerRuntime.RUNC || state.getPidLong() == null || state.getPidLong() <= 0) {
            return;
        }
        MountTable table;
        try {
            table = MountTable.read(Path.of("/proc", state.getPidLong().toString(), "mountinfo"));
        } catch (IOException e) {
            LOG.debugf("container %s exited before its mounts could be read", containerId);
            return;
        }
        List<String> lacking = table.lacking(JobWorkspace.requiredAtTargets(plan));
        if (!lacking.isEmpty()) {
            ContainerState now = stateOrNull(containerId);
            if (now == null || !Boolean.TRUE.equals(now.getRunning()) || !state.getPidLong().equals(now.getPidLong())) {
                // The job ended before its table was read; the pid may already belong to someone else.
                LOG.debugf("container %s exited before its mounts could be read", containerId);
                return;
            }
            signal(containerId, "SIGKILL");
            throw new SandboxException(SandboxException.Kind.UNSUPPORTED,
                    "the engine weakened the job's mounts: " + String.join("; ", lacking));
        }
    }

    private ContainerState state(String containerId) throws SandboxException {
        ContainerState state = stateOrNull(containerId);
        if (state == null) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "container " + containerId
                    + " was removed while the job ran");
        }
        return state;
    }

    private ContainerState stateOrNull(String containerId) throws SandboxException {
        try {
            return engine.call("inspect container", d -> d.inspectContainerCmd(containerId).exec()).getState();
        } catch (NotFoundException e) {
            return null;
        }
    }

    @Override
    public void remove(String containerId) {
        try {
            engine.run("remove container", d -> d.removeContainerCmd(containerId).withForce(true)
                    .withRemoveVolumes(true).exec());
        } catch (NotFoundException e) {
            LOG.debugf("container %s was already removed", containerId);
        } catch (SandboxException | RuntimeException e) {
            LOG.warnf("could not remove container %s: %s", containerId, Messages.brief(e));
        }
    }

    private static Instant instant(String text, Instant fallback) {
        try {
            return text == null || text.startsWith("0001-") ? fallback : Instant.parse(text);
        } catch (DateTimeParseException e) {
            return fallback;
        }
    }

    private static void sleep(long nanos) throws SandboxException {
        try {
            Thread.sleep(Math.max(1, nanos / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Kind.ENGINE, "interrupted while waiting for the container", e);
        }
    }

    /** One job in flight: what cancel needs to reach it. */
    private static final class Run {
        final Duration grace;
        volatile String containerId;
        volatile boolean cancelled;
        volatile boolean detached;
        /** The job's log; replaced by a replay from the engine's copy when the engine restarted meanwhile. */
        volatile JobLog log;

        Run(Duration grace) {
            this.grace = grace;
        }
    }
}
