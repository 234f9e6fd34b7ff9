package dev.cloister.job;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.policy.ByteSize;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.Fields;
import dev.cloister.policy.Violation;
import org.yaml.snakeyaml.LoaderOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses a submitted job spec (JSON or YAML) strictly: size-capped, duplicate keys refused, every unknown or
 * host-access field reported with its reason.
 */
public final class JobSpecReader {

    /** The parse result: the spec as far as it could be read, and every structural violation. */
    public record Parsed(JobSpec spec, JsonNode document, List<Violation> violations) {
    }

    public enum Format { JSON, YAML }

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final int MAX_ARGS = 256;
    private static final int MAX_ARG_CHARS = 8192;
    private static final int MAX_ENV = 128;
    private static final int MAX_HYPERPARAMETERS = 256;
    private static final Set<String> RESERVED_ENV_PREFIXES = Set.of("SM_", "LD_", "CLOISTER_", "DOCKER_");
    // The determinism aids (PYTHONHASHSEED, SOURCE_DATE_EPOCH, thread counts) are pinned by admission: a spec
    // cannot unpin them, so a re-run sees exactly what the original saw.
    private static final Set<String> RESERVED_ENV = Set.of("HOME", "PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
            "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "SOURCE_DATE_EPOCH", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS");

    // Fields that ask for host access or weaker isolation: refused by name with the reason, never ignored.
    private static final Map<String, String> HOST_ACCESS = Map.ofEntries(
            Map.entry("privileged", "privileged containers are never allowed"),
            Map.entry("network", "jobs never get a network"),
            Map.entry("networkMode", "jobs never get a network"),
            Map.entry("hostNetwork", "host networking is never allowed"),
            Map.entry("hostPid", "the host PID namespace is never shared"),
            Map.entry("hostIpc", "the host IPC namespace is never shared"),
            Map.entry("pid", "the host PID namespace is never shared"),
            Map.entry("ipc", "the host IPC namespace is never shared"),
            Map.entry("volumes", "host paths are never mounted: name a registered dataset"),
            Map.entry("mounts", "host paths are never mounted: name a registered dataset"),
            Map.entry("binds", "host paths are never mounted: name a registered dataset"),
            Map.entry("devices", "host devices are never passed to jobs"),
            Map.entry("capabilities", "capabilities are always dropped"),
            Map.entry("capAdd", "capabilities are always dropped"),
            Map.entry("securityOpt", "security options come from the policy, not the job"),
            Map.entry("seccompProfile", "the seccomp profile comes from the policy, not the job"),
            Map.entry("runtime", "the runtime comes from the policy, not the job"),
            Map.entry("user", "the user comes from the policy, not the job"),
            Map.entry("tmpfs", "scratch sizes come from the policy, not the job"));

    private final int maxBytes;
    private final ObjectMapper json;
    private final ObjectMapper yaml;

    public JobSpecReader(int maxBytes) {
        this.maxBytes = maxBytes;
        StreamReadConstraints limits = StreamReadConstraints.builder().maxNestingDepth(32).build();
        this.json = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();
        this.json.getFactory().setStreamReadConstraints(limits);
        LoaderOptions loader = new LoaderOptions();
        loader.setMaxAliasesForCollections(10);
        loader.setAllowDuplicateKeys(false);
        loader.setCodePointLimit(maxBytes);
        YAMLFactory yamlFactory = YAMLFactory.builder().loaderOptions(loader).streamReadConstraints(limits).build();
        this.yaml = YAMLMapper.builder(yamlFactory).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();
    }

    /** Reads at most the cap from {@code body}; more is a {@link MalformedSpecException} marked too large. */
    public byte[] readCapped(InputStream body) throws MalformedSpecException {
        try {
            byte[] bytes = body.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw new MalformedSpecException("request body exceeds " + maxBytes + " bytes", true);
            }
            return bytes;
        } catch (IOException e) {
            throw new MalformedSpecException("request body could not be read", false);
        }
    }

    public Parsed parse(byte[] body, Format format) throws MalformedSpecException {
        JsonNode root = readTree(body, format);
        return parse(root);
    }

    /**
     * Reads a document under the same caps and strictness as a job spec (size, nesting, duplicate keys, YAML
     * aliases), for other specs that embed job fields (a federation's sites).
     */
    public JsonNode readTree(byte[] body, Format format) throws MalformedSpecException {
        if (body.length > maxBytes) {
            throw new MalformedSpecException("request body exceeds " + maxBytes + " bytes", true);
        }
        if (body.length == 0) {
            throw new MalformedSpecException("request body is empty: send a job spec", false);
        }
        JsonNode root;
        try {
            root = (format == Format.YAML ? yaml : json).readTree(new String(body, StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr();
            // The parser's message can quote the body (an env value, say): the caller sees it, the audit does not.
            throw new MalformedSpecException("not valid " + format + where + ": " + e.getOriginalMessage(),
                    "not valid " + format + where, false);
        } catch (RuntimeException e) {
            // SnakeYAML signals its own limits (aliases, code points) with unchecked exceptions.
            throw new MalformedSpecException("not valid " + format + ": document refused by the parser's limits", false);
        }
        if (root == null || root.isMissingNode()) {
            throw new MalformedSpecException("request body is empty: send a job spec", false);
        }
        return root;
    }

    /** Checks an already parsed job spec document, reporting every structural violation. */
    public Parsed parse(JsonNode root) {
        List<Violation> violations = new ArrayList<>();
        Fields f = Fields.root(root, violations);

        String name = required(f, "name", NAME, "lowercase letters, digits, '.', '_' or '-', at most 63");
        String team = required(f, "team", NAME, "lowercase letters, digits, '.', '_' or '-', at most 63");
        String policy = f.text("policy").orElse(null);
        String image = f.text("image").orElse(null);
        if (image == null && !f.has("image")) {
            f.violation("image", "is required: an image pinned by digest (repository@sha256:...)");
        }
        List<String> command = f.texts("command").orElse(List.of());
        if (command.isEmpty()) {
            f.violation("command", "is required: a non-empty list of arguments");
        } else if (command.size() > MAX_ARGS || command.stream().anyMatch(a -> a.length() > MAX_ARG_CHARS || a.indexOf(0) >= 0)) {
            f.violation("command", "at most " + MAX_ARGS + " arguments of at most " + MAX_ARG_CHARS + " characters, no NUL");
        }
        Map<String, String> env = env(f);
        Map<String, Object> hyperparameters = hyperparameters(f);
        String dataset = f.text("dataset").orElse(null);
        if (dataset != null && (dataset.contains("/") || dataset.contains("..") || dataset.contains("\\"))) {
            f.violation("dataset", "must be a registered dataset name, not a path");
            dataset = null;
        } else if (dataset != null && !DatasetRegistry.NAME.matcher(dataset).matches()) {
            f.violation("dataset", "must be a registered dataset name (lowercase letters, digits, '.', '_', '-')");
            dataset = null;
        }
        Fields res = f.object("resources");
        ByteSize memory = res.parsed("memory", ByteSize::parse).orElse(null);
        Double cpus = res.number("cpus").orElse(null);
        Long pids = res.integer("pids").orElse(null);
        res.rejectUnknown(HOST_ACCESS);
        var maxRuntime = f.parsed("maxRuntime", DurationText::parse).orElse(null);
        Long seed = f.integer("seed").orElse(null);
        if (seed != null && (seed < 0 || seed > JobSpec.MAX_SEED)) {
            f.violation("seed", "must be an integer between 0 and " + JobSpec.MAX_SEED);
            seed = null;
        }
        f.rejectUnknown(HOST_ACCESS);

        JobSpec spec = new JobSpec(name, team, policy, image, command, env, hyperparameters, dataset,
                new JobSpec.Resources(memory, cpus, pids), maxRuntime, seed);
        return new Parsed(spec, root, violations);
    }

    private static String required(Fields f, String key, Pattern form, String rule) {
        String v = f.text(key).orElse(null);
        if (v == null) {
            if (!f.has(key)) {
                f.violation(key, "is required");
            }
            return null;
        }
        if (!form.matcher(v).matches()) {
            f.violation(key, "must be " + rule);
            return null;
        }
        return v;
    }

    private static Map<String, String> env(Fields f) {
        Map<String, String> env = new LinkedHashMap<>();
        f.scalarMap("env").ifPresent(m -> {
            if (m.size() > MAX_ENV) {
                f.violation("env", "at most " + MAX_ENV + " variables");
                return;
            }
            m.forEach((k, v) -> {
                if (!ENV_NAME.matcher(k).matches()) {
                    f.violation("env." + k, "is not a valid variable name");
                } else if (RESERVED_ENV.contains(k) || RESERVED_ENV_PREFIXES.stream().anyMatch(k::startsWith)) {
                    f.violation("env." + k, "is reserved: Cloister sets it (or refuses it, for LD_*)");
                } else if (v.asText().indexOf(0) >= 0 || v.asText().length() > MAX_ARG_CHARS) {
                    f.violation("env." + k, "value must be at most " + MAX_ARG_CHARS + " characters, no NUL");
                } else {
                    env.put(k, v.asText());
                }
            });
        });
        return env;
    }

    private static Map<String, Object> hyperparameters(Fields f) {
        Map<String, Object> out = new LinkedHashMap<>();
        f.scalarMap("hyperparameters").ifPresent(m -> {
            if (m.size() > MAX_HYPERPARAMETERS) {
                f.violation("hyperparameters", "at most " + MAX_HYPERPARAMETERS + " entries");
                return;
            }
            m.forEach((k, v) -> {
                if (!ENV_NAME.matcher(k.replace('-', '_')).matches()) {
                    f.violation("hyperparameters." + k, "name must be letters, digits, '_' or '-'");
                } else if (v.isBoolean()) {
                    out.put(k, v.booleanValue());
                } else if (v.isIntegralNumber() && v.canConvertToLong()) {
                    out.put(k, v.longValue());
                } else if (v.isNumber()) {
                    out.put(k, v.doubleValue());
                } else {
                    out.put(k, v.asText());
                }
            });
        });
        return out;
    }
}
