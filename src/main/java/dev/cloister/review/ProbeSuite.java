package dev.cloister.review;

import dev.cloister.dataset.Dataset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cloister.files.AtomicFiles;
import dev.cloister.job.Job;
import dev.cloister.job.JobId;
import dev.cloister.job.JobService;
import dev.cloister.job.JobSpecReader;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.Policy;
import dev.cloister.sandbox.SandboxException;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the escape and exfiltration suite ({@code deploy/probes/probe.py}) as ordinary jobs under a policy, judges the
 * verdicts against the policy's accepted exceptions, and records the result as the policy's latest probe evidence.
 *
 * <p>Three jobs: the suite without the resource bombs, then the fork bomb, then the memory bomb, each alone, because
 * under gVisor a pids or memory overrun ends the whole sandbox. Where that happens the probe leaves no verdict line;
 * the job's end (OOM-killed, or a non-zero exit of the sandbox) after the probe's "starting" line is the verdict.
 * One run at a time, so that the CPU-cap probe does not share the host with another probe job.
 */
public final class ProbeSuite implements AutoCloseable {

    static final String PROBE = "/opt/cloister/probe/probe.py";
    static final List<String> BOMBS = List.of("fork_bomb", "memory_bomb");
    private static final Logger LOG = Logger.getLogger(ProbeSuite.class);
    private static final Duration POLL = Duration.ofMillis(250);

    /** A run in progress: which policy, since when, and the job it is on. */
    public record Running(String policy, Instant since, String currentJob) {
    }

    private final JobService jobs;
    private final Path evidenceDir;
    private final Clock clock;
    private final ObjectMapper json = new ObjectMapper().findAndRegisterModules()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "probe-suite");
        t.setDaemon(true);
        return t;
    });
    private final AtomicReference<Running> running = new AtomicReference<>();

    public ProbeSuite(JobService jobs, Path evidenceDir, Clock clock) {
        this.jobs = jobs;
        this.evidenceDir = evidenceDir;
        this.clock = clock;
    }

    /**
     * Submits the first job now (so that a refused image or dataset is refused to the caller) and runs the rest in
     * the background. Throws {@link IllegalStateException} when a run is already in progress.
     */
    public Running start(Policy policy, String image, Dataset dataset, String actor)
            throws MalformedSpecException, AdmissionException, SandboxException {
        Running placeholder = new Running(policy.name(), clock.instant(), null);
        if (!running.compareAndSet(null, placeholder)) {
            Running r = running.get();
            throw new IllegalStateException("a probe run under policy '" + r.policy() + "' is in progress since "
                    + r.since() + "; one run at a time");
        }
        try {
            Job first = submit(policy, image, dataset, List.of("--skip", String.join(",", BOMBS)), actor);
            Running started = new Running(policy.name(), placeholder.since(), first.id().value());
            running.set(started);
            worker.submit(() -> finish(policy, image, dataset, actor, first, started.since()));
            return started;
        } catch (MalformedSpecException | AdmissionException | SandboxException | RuntimeException e) {
            running.set(null);
            throw e;
        }
    }

    /** The run in progress under {@code policy}, if any. */
    public Optional<Running> running(String policy) {
        return Optional.ofNullable(running.get()).filter(r -> r.policy().equals(policy));
    }

    /** The latest completed run under {@code policy}, as recorded. */
    public Optional<ProbeEvidence> latest(String policy) {
        try {
            return Optional.of(json.readValue(Files.readAllBytes(file(policy)), ProbeEvidence.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("probe evidence for policy '" + policy + "' cannot be read: "
                    + e.getMessage(), e);
        }
    }

    private Path file(String policy) {
        return evidenceDir.resolve(policy + ".json");
    }

    private void finish(Policy policy, String image, Dataset dataset, String actor, Job first, Instant since) {
        try {
            Map<String, ProbeOutcome> results = new LinkedHashMap<>();
            List<String> problems = new ArrayList<>();
            List<String> jobIds = new ArrayList<>();
            Ended suite = await(first, policy);
            jobIds.add(first.id().value());
            results.putAll(suite.results);
            if (suite.summary == null) {
                problems.add("the suite printed no summary line (job " + suite.job.state() + ", exit "
                        + suite.job.exitCode() + ")");
            }
            if (!Integer.valueOf(0).equals(suite.job.exitCode())) {
                problems.add("the suite exited " + suite.job.exitCode() + " (" + suite.job.reason() + ")");
            }
            for (String bomb : BOMBS) {
                Job job = submit(policy, image, dataset, List.of("--only", bomb), actor);
                running.set(new Running(policy.name(), since, job.id().value()));
                jobIds.add(job.id().value());
                Ended r = await(job, policy);
                results.put(bomb, r.results.containsKey(bomb) ? r.results.get(bomb) : sandboxEnded(bomb, r));
            }
            ProbeEvidence evidence = new ProbeEvidence(policy.name(), policy.digest().toString(), image, since,
                    clock.instant(), jobIds, List.copyOf(results.values()),
                    ProbeEvidence.judge(policy, results, problems));
            Files.createDirectories(evidenceDir);
            AtomicFiles.write(file(policy.name()), json.writerWithDefaultPrettyPrinter().writeValueAsBytes(evidence),
                    AtomicFiles.WORLD_READABLE);
            LOG.infof("probe suite under policy %s: %s, %d problem(s)", policy.name(), evidence.counts(),
                    evidence.problems().size());
        } catch (Exception e) {
            // The run is lost, not half-recorded: the previous evidence stays the latest.
            LOG.errorf("probe suite under policy %s failed: %s", policy.name(), e.toString());
        } finally {
            running.set(null);
        }
    }

    private Job submit(Policy policy, String image, Dataset dataset, List<String> args, String actor)
            throws MalformedSpecException, AdmissionException, SandboxException {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("name", "probe-suite");
        // The probes read the dataset at /data: their jobs belong to the team that owns it, like any job mounting it.
        spec.put("team", dataset.team());
        spec.put("policy", policy.name());
        spec.put("image", image);
        List<String> command = new ArrayList<>(List.of("python3", PROBE));
        command.addAll(args);
        spec.put("command", command);
        spec.put("dataset", dataset.name());
        // The limits the probes compare against: the policy's, as admission will apply them.
        Map<String, Object> hp = new LinkedHashMap<>();
        hp.put("expect_memory", policy.limits().memory().bytes());
        hp.put("expect_cpus", policy.limits().cpus());
        hp.put("expect_pids", policy.limits().pids());
        hp.put("expect_tmp", policy.tmpSize().bytes());
        hp.put("expect_shm", policy.shmSize().bytes());
        hp.put("expect_out", policy.outputSize().bytes());
        spec.put("hyperparameters", hp);
        try {
            return jobs.submit(json.writeValueAsBytes(spec), JobSpecReader.Format.JSON, actor, dataset.team());
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a probe job spec", e);
        }
    }

    private record Ended(Job job, String log, Map<String, ProbeOutcome> results, JsonNode summary, double seconds) {
    }

    private Ended await(Job submitted, Policy policy) throws IOException, InterruptedException {
        JobId id = submitted.id();
        Instant t0 = clock.instant();
        // The job's own deadline ends it; this is a backstop for a job the service never finishes.
        Instant giveUp = t0.plus(policy.limits().maxRuntime()).plus(policy.stopGrace()).plusSeconds(120);
        Job job = submitted;
        while (!job.state().isFinal() && clock.instant().isBefore(giveUp)) {
            Thread.sleep(POLL.toMillis());
            job = jobs.find(id).orElseThrow(() -> new IllegalStateException("probe job " + id + " vanished"));
        }
        if (!job.state().isFinal()) {
            throw new IllegalStateException("probe job " + id + " did not end by " + giveUp);
        }
        Optional<Path> logFile = jobs.logFile(id);
        String log = logFile.isPresent() && Files.exists(logFile.get())
                ? Files.readString(logFile.get(), StandardCharsets.UTF_8) : "";
        Map<String, ProbeOutcome> results = new LinkedHashMap<>();
        JsonNode summary = null;
        for (String line : log.split("\n")) {
            String l = line.strip();
            if (!l.startsWith("{")) {
                continue;
            }
            JsonNode n;
            try {
                n = json.readTree(l);
            } catch (IOException e) {
                continue; // a log line that is not one of the probe's
            }
            if (n.hasNonNull("probe") && n.hasNonNull("outcome")) {
                results.put(n.get("probe").asText(), new ProbeOutcome(n.get("probe").asText(),
                        n.get("outcome").asText(), n.hasNonNull("errno") ? n.get("errno").asInt() : null,
                        n.path("detail").asText(""), n.path("seconds").asDouble(), false));
            } else if (n.has("summary")) {
                summary = n.get("summary");
            }
        }
        return new Ended(job, log, results, summary, Duration.between(t0, clock.instant()).toMillis() / 1000.0);
    }

    /** A bomb that left no verdict: blocked only if the probe started it and the sandbox then ended at a limit. */
    private static ProbeOutcome sandboxEnded(String bomb, Ended r) {
        String state = r.job.state().name();
        Integer exit = r.job.exitCode();
        boolean started = r.log.contains("probe.py: " + bomb + " starting");
        if (started && state.equals("OOM_KILLED")) {
            return new ProbeOutcome(bomb, "blocked", null, "no verdict line: the whole sandbox was OOM-killed at the "
                    + "memory limit (job OOM_KILLED, exit " + exit + ")", r.seconds, true);
        }
        if (started && r.job.runtime().equals("runsc") && state.equals("FAILED") && exit != null && exit != 0) {
            return new ProbeOutcome(bomb, "blocked", null, "no verdict line: the sandbox ended with exit " + exit
                    + " during the bomb (runsc ends the whole sandbox when the pids cap stops its own threads)",
                    r.seconds, true);
        }
        String tail = r.log.length() > 2000 ? r.log.substring(r.log.length() - 2000) : r.log;
        return new ProbeOutcome(bomb, "error", null, String.format(Locale.ROOT, "no verdict line and no limit kill "
                + "to explain it: job %s, exit %s%s; log tail: %s", state, exit,
                started ? "" : ", and the probe never started", tail), r.seconds, true);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
