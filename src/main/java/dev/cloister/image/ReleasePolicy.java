package dev.cloister.image;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cloister.digest.Digest;
import dev.cloister.policy.Fields;
import dev.cloister.policy.PolicyException;
import dev.cloister.policy.Violation;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a deployer requires of a serving image's signed attestation before releasing it, read from a small strict
 * YAML file:
 * <pre>
 * allowedPolicies: [restricted]                    # required: training policies whose models may ship
 * allowedDatasetDigests: [sha256:...]              # optional: only models trained on these data sets
 * allowedBaseImages: [127.0.0.1:5000/cloister/serving-base@sha256:...]   # optional, pinned by digest
 * maxAge: 30d                                      # optional: the image was built at most this long ago
 * </pre>
 * Unknown keys, wrong types and malformed values are all reported at once, each with its field.
 *
 * @param allowedDatasetDigests empty: any data set (the key was left out)
 * @param allowedBaseImages     empty: any base image (the key was left out)
 */
public record ReleasePolicy(List<String> allowedPolicies, List<Digest> allowedDatasetDigests,
                            List<ImageReference> allowedBaseImages, Optional<Duration> maxAge) {

    private static final int MAX_BYTES = 64 * 1024;
    private static final Pattern AGE = Pattern.compile("(\\d{1,6})([smhd])");
    /** Build times this far in the future are accepted as clock skew; beyond it they are a violation. */
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public ReleasePolicy {
        allowedPolicies = List.copyOf(allowedPolicies);
        allowedDatasetDigests = List.copyOf(allowedDatasetDigests);
        allowedBaseImages = List.copyOf(allowedBaseImages);
        Objects.requireNonNull(maxAge, "maxAge");
        if (allowedPolicies.isEmpty()) {
            throw new IllegalArgumentException("a release policy must allow at least one training policy");
        }
        if (allowedBaseImages.stream().anyMatch(b -> b.digest().isEmpty())) {
            throw new IllegalArgumentException("allowed base images must be pinned by digest");
        }
    }

    /** Reads a release policy file (at most 64 KiB). */
    public static ReleasePolicy read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) {
                throw new PolicyException(file.toString(), List.of(new Violation("(document)",
                        "is larger than " + MAX_BYTES + " bytes")));
            }
            return parse(file.toString(), new String(bytes, StandardCharsets.UTF_8));
        }
    }

    /**
     * Parses release policy YAML.
     *
     * @param source names the text in error messages (a file name)
     * @throws PolicyException listing every field at fault
     */
    public static ReleasePolicy parse(String source, String yaml) {
        List<Violation> violations = new ArrayList<>();
        JsonNode root = null;
        if (yaml == null || yaml.length() > MAX_BYTES) {
            violations.add(new Violation("(document)", "is missing or larger than " + MAX_BYTES + " characters"));
        } else {
            try {
                root = YAML.readTree(yaml);
            } catch (JacksonException e) {
                violations.add(new Violation("(document)", "is not valid YAML: " + e.getOriginalMessage()));
            }
        }
        if (!violations.isEmpty()) {
            throw new PolicyException(source, violations);
        }
        Fields fields = Fields.root(root, violations);
        List<String> policies = list(fields, "allowedPolicies", violations, text -> {
            if (!text.matches("[a-z][a-z0-9-]{0,62}")) {
                throw new IllegalArgumentException("not a policy name (lowercase letters, digits, '-')");
            }
            return text;
        });
        if (!fields.has("allowedPolicies")) {
            fields.violation("allowedPolicies", "is required: name the training policies whose models may be "
                    + "released");
        }
        List<Digest> datasets = list(fields, "allowedDatasetDigests", violations, Digest::parse);
        List<ImageReference> bases = list(fields, "allowedBaseImages", violations, text -> {
            ImageReference ref = ImageReference.parse(text);
            if (ref.digest().isEmpty() || ref.tag().isPresent()) {
                throw new IllegalArgumentException("must be pinned by digest alone: write registry/repository@sha256:<hex>");
            }
            return ref;
        });
        Optional<Duration> maxAge = fields.text("maxAge").flatMap(text -> {
            Matcher m = AGE.matcher(text.strip());
            if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
                fields.violation("maxAge", "not an age: write a positive number with a unit s, m, h or d (e.g. 30d)");
                return Optional.empty();
            }
            long n = Long.parseLong(m.group(1));
            return Optional.of(switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
        });
        fields.rejectUnknown();
        if (!violations.isEmpty()) {
            throw new PolicyException(source, violations);
        }
        return new ReleasePolicy(policies, datasets, bases, maxAge);
    }

    /** A list of strings, each parsed; a present but empty list is refused (leave the key out to allow any). */
    private static <T> List<T> list(Fields fields, String key, List<Violation> violations, Function<String, T> parse) {
        Optional<List<String>> texts = fields.texts(key);
        if (texts.isEmpty()) {
            return List.of();
        }
        if (texts.get().isEmpty()) {
            fields.violation(key, "is empty: list at least one value, or leave the key out");
        }
        List<T> out = new ArrayList<>();
        for (int i = 0; i < texts.get().size(); i++) {
            try {
                out.add(parse.apply(texts.get().get(i)));
            } catch (IllegalArgumentException e) {
                violations.add(new Violation(fields.pathOf(key) + "[" + i + "]", e.getMessage()));
            }
        }
        return out;
    }

    /** An age as written in the file: {@code 30d}, {@code 12h}, {@code 90m}, {@code 45s}. */
    static String age(Duration d) {
        long s = d.toSeconds();
        if (s % 86_400 == 0) return (s / 86_400) + "d";
        if (s % 3_600 == 0) return (s / 3_600) + "h";
        if (s % 60 == 0) return (s / 60) + "m";
        return s + "s";
    }

    /** Every way the attested claims break this policy, as sentences; empty when the image may be released. */
    List<String> violations(ImageProvenance.Claims claims, Instant now) {
        List<String> out = new ArrayList<>();
        if (!allowedPolicies.contains(claims.trainingPolicy())) {
            out.add("release policy: the model was trained under policy '" + claims.trainingPolicy()
                    + "', which is not one of the allowed " + allowedPolicies);
        }
        if (!allowedDatasetDigests.isEmpty()) {
            if (claims.datasets().isEmpty()) {
                out.add("release policy: the attestation names no training data set, and only "
                        + allowedDatasetDigests + " are allowed");
            }
            // A federation's model was trained on every site's data set: each one must be allowed.
            claims.datasets().stream().filter(d -> !allowedDatasetDigests.contains(d)).forEach(d ->
                    out.add("release policy: the model was trained on data set " + d
                            + ", which is not one of the allowed " + allowedDatasetDigests));
        }
        if (!allowedBaseImages.isEmpty() && !allowedBaseImages.contains(claims.base())) {
            out.add("release policy: the base image " + claims.base() + " is not one of the allowed "
                    + allowedBaseImages);
        }
        maxAge.ifPresent(max -> {
            if (claims.builtOn().isBefore(now.minus(max))) {
                out.add("release policy: the image was built on " + claims.builtOn() + ", more than the allowed "
                        + age(max) + " before " + now);
            } else if (claims.builtOn().isAfter(now.plus(CLOCK_SKEW))) {
                out.add("release policy: the image's build time " + claims.builtOn() + " is in the future");
            }
        });
        return out;
    }
}
