package dev.cloister.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The set of reviewed policies loaded from one directory, with the default used when a job names none. An
 * administrator may {@link #reload()} it: the new set replaces the old one whole, or not at all when any file is
 * invalid; a job keeps the policy (and digest) it was admitted under.
 */
public final class Policies {

    private volatile Map<String, Policy> byName;
    private final String defaultName;
    private final Path dir;
    private final Path seccompDir;

    private Policies(Map<String, Policy> byName, String defaultName, Path dir, Path seccompDir) {
        this.byName = Collections.unmodifiableMap(byName);
        this.defaultName = defaultName;
        this.dir = dir;
        this.seccompDir = seccompDir;
    }

    /**
     * Reads the directory again and, when every file is valid and the default policy is still there, replaces the
     * set; otherwise throws {@link PolicyException} with every problem and keeps the current set.
     *
     * @return the policies as loaded now
     */
    public synchronized List<Policy> reload() {
        byName = load(dir, seccompDir, defaultName).byName;
        return all();
    }

    /**
     * Loads every {@code *.yaml} in {@code dir}. Any invalid file fails the whole load with every file's problems,
     * so the service never starts with a policy set that differs from what was reviewed.
     */
    public static Policies load(Path dir, Path seccompDir, String defaultName) {
        PolicyReader reader = new PolicyReader(seccompDir);
        Map<String, Policy> policies = new TreeMap<>();
        List<PolicyException> failures = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().matches(".*\\.ya?ml")).sorted().toList();
        } catch (IOException e) {
            throw new PolicyException(dir.toString(), List.of(new Violation("(directory)", "cannot be listed: " + e.getMessage())));
        }
        for (Path file : files) {
            try {
                Policy p = reader.read(file);
                policies.put(p.name(), p);
            } catch (PolicyException e) {
                failures.add(e);
            }
        }
        if (!failures.isEmpty()) {
            List<Violation> all = new ArrayList<>();
            failures.forEach(e -> e.violations().forEach(v -> all.add(new Violation(e.file() + ": " + v.field(), v.reason()))));
            throw new PolicyException(dir.toString(), all);
        }
        if (!policies.containsKey(defaultName)) {
            throw new PolicyException(dir.toString(), List.of(new Violation("cloister.policies.default",
                    "default policy '" + defaultName + "' is not among " + policies.keySet())));
        }
        return new Policies(policies, defaultName, dir, seccompDir);
    }

    public Optional<Policy> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public Policy defaultPolicy() {
        return byName.get(defaultName);
    }

    public List<Policy> all() {
        return List.copyOf(byName.values());
    }
}
