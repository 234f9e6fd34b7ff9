package dev.cloister.policy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cloister.dataset.SignatureRequirement;
import dev.cloister.dataset.TrustedRoot;
import dev.cloister.digest.Digest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads and validates one policy file. Missing fields take the safer value (gVisor, nobody, small caps, nothing
 * allowed); unsafe values (root, a network, no seccomp, a writable root) are errors, as are unknown keys.
 * {@code requireDatasetSignature} is an opt-in tightening: absent, no dataset signature is checked.
 * {@code acceptedExceptions} records probe outcomes reviewers accepted (see {@link Policy.AcceptedException}).
 * {@code teams} names the teams whose jobs may use the policy; absent, no team may.
 */
public final class PolicyReader {

    static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,62}");
    private static final Pattern PROBE_NAME = Pattern.compile("[a-z][a-z0-9_]{0,63}");
    private static final Pattern PROFILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,100}\\.json");
    private static final long MAX_PIDS = 32_768;
    private static final double MAX_CPUS = 256;
    private static final ByteSize MIN_MEMORY = ByteSize.mebibytes(16);
    private static final Duration MAX_RUNTIME = Duration.ofDays(7);
    private static final Set<String> SAFE_SECCOMP_DEFAULTS = Set.of(
            "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP");

    // The safer value for each field a policy leaves out.
    static final ContainerRuntime DEFAULT_RUNTIME = ContainerRuntime.RUNSC;
    static final String DEFAULT_SECCOMP = "training.json";
    static final UserId DEFAULT_USER = new UserId(65534, 65534);
    static final ByteSize DEFAULT_TMP = ByteSize.mebibytes(64);
    static final ByteSize DEFAULT_SHM = ByteSize.mebibytes(16);
    static final ByteSize DEFAULT_MEMORY = ByteSize.mebibytes(512);
    static final double DEFAULT_CPUS = 1.0;
    static final long DEFAULT_PIDS = 128;
    static final Duration DEFAULT_MAX_RUNTIME = Duration.ofMinutes(10);
    static final ByteSize DEFAULT_LOG = ByteSize.mebibytes(1);
    static final ByteSize DEFAULT_OUTPUT = ByteSize.mebibytes(64);
    static final Duration DEFAULT_STOP_GRACE = Duration.ofSeconds(10);

    private static final Map<String, String> REFUSED_KEYS = Map.of(
            "privileged", "privileged containers are never allowed",
            "capabilities", "capabilities are always dropped; no policy can add them",
            "hostNetwork", "host networking is never allowed",
            "volumes", "mounts are decided by Cloister (dataset, output, scratch); no policy can add host paths",
            "devices", "host devices are never passed to jobs");

    private static final Pattern TRUSTED_ROOT_PATH = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,100}"
            + "(/[A-Za-z0-9][A-Za-z0-9._-]{0,100}){0,3}\\.json");

    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    private final Path seccompDir;
    private final Path policiesDir;

    /** A reader for policies kept in {@code policies/} (relative to the working directory). */
    public PolicyReader(Path seccompDir) {
        this(seccompDir, Path.of("policies"));
    }

    /**
     * @param policiesDir where policy text read by {@link #read(String, String, byte[])} resolves the files it names
     *                    (trusted roots); {@link #read(Path)} resolves them against the file's own directory
     */
    public PolicyReader(Path seccompDir, Path policiesDir) {
        this.seccompDir = seccompDir;
        this.policiesDir = policiesDir;
    }

    /** Reads {@code file}; throws {@link PolicyException} naming the file and every violation. */
    public Policy read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PolicyException(file.toString(), List.of(new Violation("(file)", "cannot be read: " + e.getMessage())));
        }
        String stem = file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        Path dir = file.toAbsolutePath().getParent();
        return read(file.toString(), stem, bytes, dir);
    }

    /** Reads policy text; {@code expectedName} is the file's stem, which the {@code name} field must equal. */
    public Policy read(String source, String expectedName, byte[] bytes) {
        return read(source, expectedName, bytes, policiesDir);
    }

    private Policy read(String source, String expectedName, byte[] bytes, Path dir) {
        List<Violation> violations = new ArrayList<>();
        JsonNode root;
        try {
            root = yaml.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw new PolicyException(source, List.of(new Violation("(document)",
                    "not valid YAML at line " + e.getLocation().getLineNr() + ": " + e.getOriginalMessage())));
        }
        Fields f = Fields.root(root, violations);

        String name = f.text("name").orElse(null);
        if (name == null) {
            f.violation("name", "is required");
        } else if (!NAME.matcher(name).matches()) {
            f.violation("name", "must be lowercase letters, digits and dashes");
        } else if (!name.equals(expectedName)) {
            f.violation("name", "must match the file name '" + expectedName + "'");
        }
        String description = f.text("description").orElse("");

        ContainerRuntime runtime = f.parsed("runtime", ContainerRuntime::parse).orElse(DEFAULT_RUNTIME);
        String profileName = f.text("seccompProfile").orElse(DEFAULT_SECCOMP);
        SeccompProfile seccomp = readProfile(profileName, f);
        UserId user = f.parsed("user", UserId::parse).orElse(DEFAULT_USER);
        f.bool("readOnlyRootfs").ifPresent(ro -> {
            if (!ro) {
                f.violation("readOnlyRootfs", "must be true: jobs write only to /out and sized scratch");
            }
        });
        f.text("network").ifPresent(n -> {
            if (!n.equals("none")) {
                f.violation("network", "must be 'none': training jobs never get a network");
            }
        });

        Fields images = f.object("images");
        List<String> repositories = images.texts("allowedRepositories").orElse(List.of());
        for (int i = 0; i < repositories.size(); i++) {
            String repo = repositories.get(i);
            try {
                new ImageRef(repo, Digest.of(new byte[0]));
            } catch (IllegalArgumentException e) {
                images.violation("allowedRepositories[" + i + "]",
                        "'" + repo + "' is not a repository name (no tag or digest; jobs pin the digest)");
            }
        }
        images.rejectUnknown();

        Fields scratch = f.object("scratch");
        ByteSize tmp = scratch.parsed("tmp", ByteSize::parse).orElse(DEFAULT_TMP);
        ByteSize shm = scratch.parsed("shm", ByteSize::parse).orElse(DEFAULT_SHM);
        scratch.rejectUnknown();

        Fields limits = f.object("limits");
        ByteSize memory = limits.parsed("memory", ByteSize::parse).orElse(DEFAULT_MEMORY);
        if (memory.compareTo(MIN_MEMORY) < 0) {
            limits.violation("memory", "must be at least " + MIN_MEMORY);
        }
        double cpus = limits.number("cpus").orElse(DEFAULT_CPUS);
        if (!(cpus >= 0.01 && cpus <= MAX_CPUS)) {
            limits.violation("cpus", "must be between 0.01 and " + (int) MAX_CPUS);
        }
        long pids = limits.integer("pids").orElse(DEFAULT_PIDS);
        if (pids < 8 || pids > MAX_PIDS) {
            limits.violation("pids", "must be between 8 and " + MAX_PIDS + " (an unlimited pids cap allows fork bombs)");
        }
        Duration maxRuntime = limits.parsed("maxRuntime", DurationText::parse).orElse(DEFAULT_MAX_RUNTIME);
        if (maxRuntime.isZero() || maxRuntime.compareTo(MAX_RUNTIME) > 0) {
            limits.violation("maxRuntime", "must be more than 0s and at most 7 days");
        }
        ByteSize log = limits.parsed("logSize", ByteSize::parse).orElse(DEFAULT_LOG);
        ByteSize output = limits.parsed("outputSize", ByteSize::parse).orElse(DEFAULT_OUTPUT);
        Duration grace = limits.parsed("stopGrace", DurationText::parse).orElse(DEFAULT_STOP_GRACE);
        if (log.bytes() < 1024) {
            limits.violation("logSize", "must be at least 1k");
        }
        if (output.bytes() < 1024) {
            limits.violation("outputSize", "must be at least 1k");
        }
        if (tmp.compareTo(memory) > 0 || shm.compareTo(memory) > 0) {
            scratch.violation(tmp.compareTo(memory) > 0 ? "tmp" : "shm",
                    "scratch is memory-backed and must not exceed limits.memory (" + memory + ")");
        }
        limits.rejectUnknown();

        Fields datasets = f.object("datasets");
        List<String> allowedDatasets = datasets.texts("allowed").orElse(List.of());
        datasets.rejectUnknown();

        // Opt-in: absent means no signature check (the allow-list above still applies); present, it must be complete,
        // and an empty value is an error rather than a silent "not required".
        SignatureRequirement datasetSignature = null;
        if (f.has("requireDatasetSignature")) {
            Fields signature = f.object("requireDatasetSignature");
            if (root.get("requireDatasetSignature").isObject()) {
                datasetSignature = readSignatureRequirement(signature, dir);
            }
        } else if (root != null && root.has("requireDatasetSignature")) {
            f.violation("requireDatasetSignature", "is empty: give identities, issuers and trustedRoot, or leave the "
                    + "key out to require no dataset signature");
        }

        List<Policy.AcceptedException> accepted = readAcceptedExceptions(root, f);

        // Opt-in loosening: one more read-only mount (/in, the host's global weights) for federated-training sites.
        Fields federation = f.object("federation");
        boolean federatedInput = federation.bool("allowInput").orElse(false);
        federation.rejectUnknown();
        // Absent: no team may use the policy (the closed default); an empty list says the same, explicitly.
        List<String> teams = f.texts("teams").orElse(List.of());
        for (String team : teams) {
            if (!dev.cloister.dataset.DatasetRegistry.TEAM.matcher(team).matches()) {
                f.violation("teams", "'" + team + "' is not a team name (lowercase letters, digits, '-', '_')");
            }
        }

        f.rejectUnknown(REFUSED_KEYS);
        if (!violations.isEmpty()) {
            throw new PolicyException(source, violations);
        }
        return new Policy(name, description, Digest.of(bytes), repositories, runtime, seccomp, user, tmp, shm,
                new Limits(memory, cpus, pids, maxRuntime), log, output, allowedDatasets, grace, datasetSignature,
                accepted, federatedInput, teams);
    }

    // acceptedExceptions: [{probe: NAME, reason: TEXT}, ...]. Absent means none; an empty value is an error, like
    // requireDatasetSignature's, so that a half-written entry is never read as "none".
    private static List<Policy.AcceptedException> readAcceptedExceptions(JsonNode root, Fields f) {
        String key = "acceptedExceptions";
        if (!f.has(key)) {
            if (root != null && root.isObject() && root.has(key)) {
                f.violation(key, "is empty: list {probe, reason} entries, write [] for none, or leave the key out");
            }
            return List.of();
        }
        JsonNode list = root.get(key);
        if (!list.isArray()) {
            f.violation(key, "must be a list of {probe, reason} entries");
            return List.of();
        }
        List<Policy.AcceptedException> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String at = key + "[" + i + "]";
            JsonNode entry = list.get(i);
            if (!entry.isObject()) {
                f.violation(at, "must be an object with 'probe' and 'reason'");
                continue;
            }
            for (Iterator<String> it = entry.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!field.equals("probe") && !field.equals("reason")) {
                    f.violation(at + "." + field, "unknown field (an exception has only 'probe' and 'reason')");
                }
            }
            String probe = textField(entry, "probe", at, f);
            String reason = textField(entry, "reason", at, f);
            if (probe != null && !PROBE_NAME.matcher(probe).matches()) {
                f.violation(at + ".probe", "'" + probe + "' is not a probe name (lowercase letters, digits and '_', "
                        + "as deploy/probes/probe.py --list prints them)");
                probe = null;
            } else if (probe != null && !seen.add(probe)) {
                f.violation(at + ".probe", "'" + probe + "' is listed twice");
                probe = null;
            }
            if (reason != null && reason.isBlank()) {
                f.violation(at + ".reason", "must say what was measured and why it is acceptable");
                reason = null;
            }
            if (probe != null && reason != null) {
                out.add(new Policy.AcceptedException(probe, reason.strip()));
            }
        }
        return List.copyOf(out);
    }

    private static String textField(JsonNode entry, String field, String at, Fields f) {
        JsonNode v = entry.get(field);
        if (v == null || v.isNull()) {
            f.violation(at + "." + field, "is required");
            return null;
        }
        if (!v.isTextual()) {
            f.violation(at + "." + field, "must be a string");
            return null;
        }
        return v.asText();
    }

    // requireDatasetSignature: {identities: [...], issuers: [...], trustedRoot: FILE relative to the policies dir}
    private static SignatureRequirement readSignatureRequirement(Fields s, Path dir) {
        // A wrong type is already reported by texts(); "must list" is for a missing or empty list.
        Optional<List<String>> listedIdentities = s.texts("identities");
        List<String> identities = listedIdentities.orElse(List.of());
        if (identities.isEmpty() && (listedIdentities.isPresent() || !s.has("identities"))) {
            s.violation("identities", "must list at least one signer identity (the certificate's email or URI, exactly)");
        }
        for (int i = 0; i < identities.size(); i++) {
            String id = identities.get(i);
            if (id.isBlank() || !id.equals(id.strip())) {
                s.violation("identities[" + i + "]", "must be a non-blank identity without surrounding spaces");
            } else if (id.contains("*")) {
                s.violation("identities[" + i + "]", "identities are matched exactly; '*' is not a wildcard");
            }
        }
        Optional<List<String>> listedIssuers = s.texts("issuers");
        List<String> issuers = listedIssuers.orElse(List.of());
        if (issuers.isEmpty() && (listedIssuers.isPresent() || !s.has("issuers"))) {
            s.violation("issuers", "must list at least one OIDC issuer URL (e.g. https://token.actions.githubusercontent.com)");
        }
        for (int i = 0; i < issuers.size(); i++) {
            if (!issuers.get(i).matches("https://[^\\s*]+")) {
                s.violation("issuers[" + i + "]", "must be an https:// OIDC issuer URL, matched exactly");
            }
        }
        TrustedRoot root = null;
        String rootName = s.text("trustedRoot").orElse(null);
        if (rootName == null) {
            s.violation("trustedRoot", "is required: a Sigstore trusted root JSON file beside the policies "
                    + "(e.g. trusted-roots/public-good.json)");
        } else if (!TRUSTED_ROOT_PATH.matcher(rootName).matches() || rootName.contains("..")) {
            s.violation("trustedRoot", "must be a .json file path relative to the policies directory "
                    + "(e.g. trusted-roots/public-good.json), without '..'");
        } else {
            try {
                root = TrustedRoot.read(rootName, dir.resolve(rootName));
            } catch (IllegalArgumentException e) {
                s.violation("trustedRoot", e.getMessage());
            }
        }
        s.rejectUnknown();
        if (identities.isEmpty() || issuers.isEmpty() || root == null) {
            return null;
        }
        return new SignatureRequirement(identities, issuers, root);
    }

    private SeccompProfile readProfile(String profileName, Fields f) {
        if (profileName.equals("unconfined")) {
            f.violation("seccompProfile", "'unconfined' is never allowed: name a profile in seccomp-profiles/");
            return null;
        }
        if (!PROFILE_NAME.matcher(profileName).matches()) {
            f.violation("seccompProfile", "must be the file name of a profile in seccomp-profiles/ (e.g. training.json)");
            return null;
        }
        Path file = seccompDir.resolve(profileName);
        String json;
        try {
            json = Files.readString(file);
        } catch (IOException e) {
            f.violation("seccompProfile", "profile '" + profileName + "' not found in " + seccompDir);
            return null;
        }
        try {
            JsonNode profile = new ObjectMapper().readTree(json);
            String action = profile.path("defaultAction").asText("");
            if (!SAFE_SECCOMP_DEFAULTS.contains(action)) {
                f.violation("seccompProfile", "profile '" + profileName + "' must deny by default (defaultAction "
                        + SAFE_SECCOMP_DEFAULTS.stream().sorted().toList() + "), not '" + action + "'");
                return null;
            }
        } catch (JacksonException e) {
            f.violation("seccompProfile", "profile '" + profileName + "' is not valid JSON");
            return null;
        }
        return new SeccompProfile(profileName, json, Digest.of(json));
    }
}
