package dev.cloister.federation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.job.JobSpec;
import dev.cloister.job.JobSpecReader;
import dev.cloister.policy.ByteSize;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.Fields;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Violation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a federation spec document (already parsed under the job spec reader's caps) and reports every violation at
 * once. Each site's run is built as a job spec and checked by the {@link JobSpecReader}, so a site gets exactly the
 * checks a job gets (pinned image, reserved env names, host-access fields refused by name).
 */
public final class FederationSpecReader {

    /** The result: the spec (null when there are violations) and every violation. */
    public record Parsed(FederationSpec spec, List<Violation> violations) {
    }

    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,40}");
    static final int MAX_SITES = 32;
    static final int MAX_ROUNDS = 1000;
    static final int MAX_ARRAYS = 64;
    static final long MAX_VALUES = 4_000_000;
    static final ByteSize DEFAULT_MAX_UPDATE = ByteSize.mebibytes(4);
    static final ByteSize MAX_UPDATE = ByteSize.mebibytes(64);
    /** Fields refused by name with the reason, never ignored. */
    private static final Map<String, String> REFUSED = Map.of(
            "network", "sites never get a network",
            "volumes", "host paths are never mounted: each site names a registered dataset",
            "mounts", "host paths are never mounted: each site names a registered dataset",
            "privileged", "privileged containers are never allowed");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final JobSpecReader jobs;

    public FederationSpecReader(JobSpecReader jobs) {
        this.jobs = jobs;
    }

    public Parsed read(JsonNode root) {
        List<Violation> violations = new ArrayList<>();
        Fields f = Fields.root(root, violations);
        String name = f.text("name").orElse(null);
        if (name == null) {
            if (!f.has("name")) {
                f.violation("name", "is required");
            }
        } else if (!NAME.matcher(name).matches()) {
            f.violation("name", "must be lowercase letters, digits, '.', '_' or '-', at most 41");
            name = null;
        }
        String image = f.text("image").orElse(null);
        if (image == null && !f.has("image")) {
            f.violation("image", "is required: the trainer image pinned by digest (repository@sha256:...)");
        } else if (image != null) {
            try {
                ImageRef.parse(image);
            } catch (IllegalArgumentException e) {
                f.violation("image", e.getMessage());
            }
        }
        f.texts("command").orElse(null); // checked per site by the job spec reader
        if (!f.has("command")) {
            f.violation("command", "is required: a non-empty list of arguments");
        }
        f.scalarMap("hyperparameters");
        int rounds = (int) bounded(f, "rounds", 1, MAX_ROUNDS, true, 1);
        Duration deadline = f.parsed("roundDeadline", DurationText::parse).orElse(null);
        if (deadline == null && !f.has("roundDeadline")) {
            f.violation("roundDeadline", "is required: how long a site may run in one round (e.g. 2m)");
        }
        Aggregation aggregation = aggregation(f.object("aggregation"));
        Double clip = f.number("clipNorm").orElse(null);
        if (clip != null && !(clip > 0 && Double.isFinite(clip))) {
            f.violation("clipNorm", "must be a positive number (the L2 bound of an update's delta)");
        }
        ByteSize maxUpdate = f.parsed("maxUpdateBytes", ByteSize::parse).orElse(DEFAULT_MAX_UPDATE);
        if (maxUpdate.bytes() < 1024 || maxUpdate.compareTo(MAX_UPDATE) > 0) {
            f.violation("maxUpdateBytes", "must be between 1k and " + MAX_UPDATE);
        }
        Map<String, int[]> model = model(f.object("model"), root == null ? null : root.path("model").path("arrays"));
        f.has("resources"); // checked per site by the job spec reader

        List<FederationSpec.Site> sites = sites(root, f, violations);
        int quorum = (int) bounded(f, "quorum", 1, MAX_SITES, true, 1);
        int listed = root != null && root.path("sites").isArray() ? root.path("sites").size() : 0;
        if (quorum > listed && listed > 0) {
            f.violation("quorum", quorum + " is more than the " + listed + " site(s)");
        }
        FederationSpec.Evaluation evaluation = null;
        if (f.has("evaluation")) {
            Fields e = f.object("evaluation");
            String team = e.text("team").orElse(null);
            String dataset = e.text("dataset").orElse(null);
            String policy = e.text("policy").orElse(null);
            e.rejectUnknown();
            JobSpec job = siteJob(root, "evaluation", "evaluation", team, dataset, policy, null, violations);
            if (job != null) {
                evaluation = new FederationSpec.Evaluation(team, dataset, policy, job);
            }
        }
        f.rejectUnknown(REFUSED);
        if (!violations.isEmpty()) {
            return new Parsed(null, violations);
        }
        List<String> command = sites.get(0).job().command();
        return new Parsed(new FederationSpec(name, image, command, model, rounds, quorum, deadline, aggregation, clip,
                maxUpdate, sites, evaluation, root), List.of());
    }

    private static long bounded(Fields f, String key, long min, long max, boolean required, long fallback) {
        Long v = f.integer(key).orElse(null);
        if (v == null) {
            if (required && !f.has(key)) {
                f.violation(key, "is required");
            }
            return fallback;
        }
        if (v < min || v > max) {
            f.violation(key, "must be between " + min + " and " + max);
            return fallback;
        }
        return v;
    }

    private static Aggregation aggregation(Fields a) {
        String rule = a.text("rule").orElse("fedavg");
        Double trim = a.number("trim").orElse(null);
        a.rejectUnknown();
        try {
            Aggregation.Rule r = Aggregation.Rule.parse(rule);
            return new Aggregation(r, r == Aggregation.Rule.TRIMMED_MEAN ? (trim == null ? 0.1 : trim)
                    : trim == null ? 0 : trim);
        } catch (IllegalArgumentException e) {
            a.violation(rule.isEmpty() ? "rule" : (e.getMessage().startsWith("unknown") ? "rule" : "trim"),
                    e.getMessage());
            return Aggregation.FEDAVG;
        }
    }

    private static Map<String, int[]> model(Fields m, JsonNode node) {
        Map<String, int[]> out = new LinkedHashMap<>();
        if (!m.has("arrays")) {
            m.violation("arrays", "is required: the model's arrays and their shapes, e.g. {w: [30], b: [1]}");
            m.rejectUnknown();
            return out;
        }
        Fields arrays = m.object("arrays");
        long values = 0;
        if (node != null && node.isObject()) {
            if (node.size() == 0 || node.size() > MAX_ARRAYS) {
                arrays.violation("(object)", "must name between 1 and " + MAX_ARRAYS + " arrays");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                arrays.has(e.getKey());
                if (!Weights.NAME.matcher(e.getKey()).matches()) {
                    arrays.violation(e.getKey(), "array names are letters, digits, '_', '-' or '.'");
                    continue;
                }
                JsonNode dims = e.getValue();
                if (!dims.isArray() || dims.size() > 8) {
                    arrays.violation(e.getKey(), "must be a list of at most 8 dimensions, e.g. [30]");
                    continue;
                }
                int[] shape = new int[dims.size()];
                long count = 1;
                boolean ok = true;
                for (int i = 0; i < dims.size(); i++) {
                    JsonNode d = dims.get(i);
                    if (!d.isIntegralNumber() || d.asLong() < 1 || d.asLong() > MAX_VALUES) {
                        arrays.violation(e.getKey(), "dimensions must be integers between 1 and " + MAX_VALUES);
                        ok = false;
                        break;
                    }
                    shape[i] = d.asInt();
                    count *= shape[i];
                }
                values += ok ? count : 0;
                if (ok) {
                    out.put(e.getKey(), shape);
                }
            }
            if (values > MAX_VALUES) {
                m.violation("arrays", "the model has " + values + " values, more than " + MAX_VALUES);
            }
        }
        m.rejectUnknown();
        return out;
    }

    private List<FederationSpec.Site> sites(JsonNode root, Fields f, List<Violation> violations) {
        List<FederationSpec.Site> out = new ArrayList<>();
        f.has("sites");
        JsonNode list = root == null ? null : root.get("sites");
        if (list == null || !list.isArray() || list.isEmpty()) {
            f.violation("sites", "is required: a list of {name, team, dataset, policy} sites");
            return out;
        }
        if (list.size() > MAX_SITES) {
            f.violation("sites", "at most " + MAX_SITES + " sites");
            return out;
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "sites[" + i + "]";
            List<Violation> own = new ArrayList<>();
            Fields s = Fields.root(list.get(i), own);
            String site = s.text("name").orElse(null);
            if (site == null || !NAME.matcher(site).matches()) {
                s.violation("name", "is required: lowercase letters, digits, '.', '_' or '-', at most 41");
                site = null;
            } else if (!names.add(site)) {
                s.violation("name", "'" + site + "' is used by another site");
            }
            String team = s.text("team").orElse(null);
            String dataset = s.text("dataset").orElse(null);
            String policy = s.text("policy").orElse(null);
            if (dataset == null) {
                s.violation("dataset", "is required: the site's registered dataset");
            }
            if (policy == null) {
                s.violation("policy", "is required: the policy the site's team runs under");
            }
            JsonNode env = list.get(i).isObject() ? list.get(i).get("env") : null;
            s.scalarMap("env");
            s.rejectUnknown(REFUSED);
            own.forEach(v -> violations.add(new Violation(at + "." + v.field(), v.reason())));
            JobSpec job = siteJob(root, at, site == null ? "site" : site, team, dataset, policy, env, violations);
            if (job != null && own.isEmpty()) {
                out.add(new FederationSpec.Site(site, team, dataset, policy, job));
            }
        }
        return out;
    }

    /** Builds the site's run as a job spec document and lets the job spec reader judge it. */
    private JobSpec siteJob(JsonNode root, String at, String site, String team, String dataset,
                            String policy, JsonNode env, List<Violation> violations) {
        ObjectNode job = JSON.createObjectNode();
        String fed = root != null && root.path("name").isTextual() ? root.path("name").asText() : "federation";
        job.put("name", (fed + "-" + site).length() > 63 ? site : fed + "-" + site);
        if (team != null) {
            job.put("team", team);
        }
        if (policy != null) {
            job.put("policy", policy);
        }
        if (dataset != null) {
            job.put("dataset", dataset);
        }
        copy(root, "image", job);
        copy(root, "command", job);
        copy(root, "hyperparameters", job);
        copy(root, "roundDeadline", job, "maxRuntime");
        copy(root, "resources", job);
        if (env != null) {
            job.set("env", env);
        }
        JobSpecReader.Parsed parsed = jobs.parse(job);
        for (Violation v : parsed.violations()) {
            // The shared fields are reported once, at the top level, from the first site only.
            boolean shared = List.of("image", "command", "hyperparameters", "maxRuntime", "resources")
                    .stream().anyMatch(k -> v.field().equals(k) || v.field().startsWith(k + "."));
            if (shared) {
                if (at.equals("sites[0]")) {
                    violations.add(new Violation(v.field().replace("maxRuntime", "roundDeadline"), v.reason()));
                }
            } else if (!v.field().equals("name")) {
                violations.add(new Violation(at + "." + v.field(), v.reason()));
            }
        }
        return parsed.violations().isEmpty() ? parsed.spec() : null;
    }

    private static void copy(JsonNode root, String key, ObjectNode to) {
        copy(root, key, to, key);
    }

    private static void copy(JsonNode root, String key, ObjectNode to, String as) {
        if (root != null && root.isObject() && root.has(key) && !root.get(key).isNull()) {
            to.set(as, root.get(key).deepCopy());
        }
    }
}
