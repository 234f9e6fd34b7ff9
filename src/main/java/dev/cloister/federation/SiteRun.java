package dev.cloister.federation;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.dataset.Dataset;
import dev.cloister.digest.Digest;
import dev.cloister.files.AtomicFiles;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;
import dev.cloister.policy.Admission;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.ContainerPlan;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.RunResult;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.sandbox.SandboxRuntime;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one site's container for one round, host-mediated: admits the site's run under its policy (with the read-only
 * {@code /in}), writes the input weights there, runs the plan in the sandbox, keeps the site's log, then reads and
 * judges what the site wrote: {@code /out/update.npz} (strict reader, size cap, shapes, finite values, clipping)
 * and {@code /out/metrics.json} (its example count and metrics). Any failure is an exclusion with a reason.
 */
final class SiteRun {

    static final String INPUT_FILE = "global.npz";
    static final String UPDATE_FILE = "update.npz";
    static final String METRICS_FILE = "metrics.json";
    static final int MAX_METRICS_BYTES = 64 * 1024;
    static final long MAX_EXAMPLES = 1_000_000_000_000L;
    private static final int MAX_REASON = 300;
    private static final Logger LOG = Logger.getLogger(SiteRun.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** What the site's run came to: an accepted update, or an exclusion reason. */
    record Outcome(String reason, Weights weights, Digest updateDigest, byte[] updateBytes, long examples,
                   Map<String, Object> metrics, List<String> interfaces) {
        boolean accepted() {
            return reason == null;
        }

        static Outcome excluded(String reason, Map<String, Object> metrics, List<String> interfaces) {
            return new Outcome(reason, null, null, null, 0, metrics, interfaces);
        }
    }

    /** One run to make: which job, under which policy, with which inputs, and where its traces go. */
    record Request(JobSpec job, Policy policy, Dataset dataset, Map<String, byte[]> inputs, Weights expected,
                   Npz.Limits limits, boolean expectsUpdate, Path runDir, Path logFile) {
    }

    private final Admission admission;
    private final SandboxRuntime runtime;
    private final SecureRandom random;

    SiteRun(Admission admission, SandboxRuntime runtime, SecureRandom random) {
        this.admission = admission;
        this.runtime = runtime;
        this.random = random;
    }

    /**
     * @param started told the run id once the plan exists, so that a cancel can reach the container
     */
    Outcome run(Request r, Consumer<String> started) {
        JobId id = JobId.random(random);
        ContainerPlan plan;
        try {
            plan = admission.admitSite(id, r.job(), r.policy(), r.dataset());
        } catch (AdmissionException e) {
            return Outcome.excluded("refused by admission: " + String.join("; ",
                    e.violations().stream().map(Violation::toString).toList()), Map.of(), List.of());
        }
        started.accept(id.value());
        try {
            writeInputs(plan, r.inputs());
        } catch (IOException e) {
            LOG.warnf("site run %s: writing /in failed: %s", id, e.getMessage());
            return Outcome.excluded("the host could not write the site's input (see the server log)", Map.of(),
                    List.of());
        }
        Path out = r.runDir().resolve("out");
        RunResult result;
        try {
            Files.createDirectories(r.runDir());
            result = runtime.run(plan, out, (containerId, at) -> { });
        } catch (SandboxException e) {
            return Outcome.excluded("the sandbox failed: " + e.getMessage(), Map.of(), List.of());
        } catch (IOException e) {
            return Outcome.excluded("the host could not prepare the run's directory", Map.of(), List.of());
        } finally {
            keepLog(SandboxRuntime.logFile(plan), r.logFile());
        }
        return judge(r, plan, result, out);
    }

    private Outcome judge(Request r, ContainerPlan plan, RunResult result, Path out) {
        Map<String, Object> metrics = new LinkedHashMap<>();
        List<String> interfaces = new ArrayList<>();
        long examples;
        String metricsProblem = null;
        try {
            examples = readMetrics(out.resolve(METRICS_FILE), metrics, interfaces);
        } catch (InvalidUpdateException e) {
            examples = 0;
            metricsProblem = e.getMessage();
        }
        switch (result.outcome()) {
            case TIMED_OUT -> {
                return Outcome.excluded("did not finish within the round deadline of "
                        + DurationText.format(plan.limits().maxRuntime()), metrics, interfaces);
            }
            case OOM_KILLED -> {
                return Outcome.excluded("killed by the kernel: out of memory (limit " + plan.limits().memory() + ")",
                        metrics, interfaces);
            }
            case CANCELLED -> {
                return Outcome.excluded("cancelled", metrics, interfaces);
            }
            default -> {
            }
        }
        if (result.exitCode() == null || result.exitCode() != 0) {
            String failure = result.failure() == null ? "" : ": " + clip(result.failure().strip());
            return Outcome.excluded("exited with code " + result.exitCode() + failure, metrics, interfaces);
        }
        if (!result.outputProblems().isEmpty()) {
            return Outcome.excluded("outputs refused: " + clip(String.join("; ", result.outputProblems())), metrics,
                    interfaces);
        }
        if (!r.expectsUpdate()) {
            return metricsProblem == null ? new Outcome(null, null, null, null, examples, metrics, interfaces)
                    : Outcome.excluded("invalid " + METRICS_FILE + ": " + clip(metricsProblem), metrics, interfaces);
        }
        Path update = out.resolve(UPDATE_FILE);
        if (!Files.exists(update, LinkOption.NOFOLLOW_LINKS)) {
            return Outcome.excluded("wrote no /out/" + UPDATE_FILE, metrics, interfaces);
        }
        Weights weights;
        byte[] bytes;
        try {
            weights = Npz.read(update, r.limits());
            bytes = Files.readAllBytes(update);
        } catch (InvalidUpdateException e) {
            return Outcome.excluded("invalid update: " + clip(e.getMessage()), metrics, interfaces);
        } catch (IOException e) {
            return Outcome.excluded("invalid update: cannot be read", metrics, interfaces);
        }
        List<String> layout = r.expected().layoutDifferences(weights);
        if (!layout.isEmpty()) {
            return Outcome.excluded("invalid update: wrong shape: " + clip(String.join("; ", layout)), metrics,
                    interfaces);
        }
        if (metricsProblem != null) {
            return Outcome.excluded("invalid " + METRICS_FILE + ": " + clip(metricsProblem), metrics, interfaces);
        }
        return new Outcome(null, weights, Digest.of(bytes), bytes, examples, metrics, interfaces);
    }

    private static void writeInputs(ContainerPlan plan, Map<String, byte[]> inputs) throws IOException {
        Path in = plan.workDir().resolve("in");
        Files.createDirectories(in);
        // Read by the job's non-root user through the read-only bind: world-readable, owned by root.
        Files.setPosixFilePermissions(in, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (Map.Entry<String, byte[]> e : inputs.entrySet()) {
            AtomicFiles.write(in.resolve(e.getKey()), e.getValue(), AtomicFiles.WORLD_READABLE);
        }
    }

    private static void keepLog(Path from, Path to) {
        try {
            Files.createDirectories(to.getParent());
            if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
                Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            LOG.warnf("could not keep the site log %s: %s", to, e.getMessage());
        }
    }

    /**
     * Reads {@code metrics.json}: {@code examples} (a positive integer, required), {@code metrics} (an object whose
     * scalar values are kept) and {@code interfaces} (strings). Returns the example count.
     */
    static long readMetrics(Path file, Map<String, Object> metrics, List<String> interfaces) throws InvalidUpdateException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_METRICS_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new InvalidUpdateException("missing: the site must report its example count in /out/" + METRICS_FILE);
        } catch (IOException e) {
            throw new InvalidUpdateException("cannot be read");
        }
        if (bytes.length > MAX_METRICS_BYTES) {
            throw new InvalidUpdateException("larger than " + MAX_METRICS_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new InvalidUpdateException("not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new InvalidUpdateException("not a JSON object");
        }
        JsonNode m = root.path("metrics");
        if (m.isObject()) {
            int kept = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext() && kept < 32; ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().length() <= 64 && e.getValue().isNumber()) {
                    metrics.put(e.getKey(), e.getValue().doubleValue());
                    kept++;
                }
            }
        }
        JsonNode nics = root.path("interfaces");
        if (nics.isArray()) {
            for (int i = 0; i < nics.size() && i < 32; i++) {
                if (nics.get(i).isTextual() && nics.get(i).asText().length() <= 64) {
                    interfaces.add(nics.get(i).asText());
                }
            }
        }
        JsonNode examples = root.path("examples");
        if (!examples.isIntegralNumber() || examples.asLong() < 1 || examples.asLong() > MAX_EXAMPLES) {
            throw new InvalidUpdateException("'examples' must be a positive integer");
        }
        return examples.asLong();
    }

    private static String clip(String s) {
        String printable = s.replaceAll("[\\p{Cntrl}&&[^\n]]", "?").replace('\n', ' ');
        return printable.length() > MAX_REASON ? printable.substring(0, MAX_REASON) + "…" : printable;
    }
}
