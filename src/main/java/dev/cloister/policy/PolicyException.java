package dev.cloister.policy;

import java.util.List;
import java.util.stream.Collectors;

/** A policy file is invalid; names the file and lists every field at fault with its reason. */
public class PolicyException extends RuntimeException {

    private final String file;
    private final List<Violation> violations;

    public PolicyException(String file, List<Violation> violations) {
        super("policy " + file + " is invalid:\n" + violations.stream()
                .map(v -> "  - " + v.field() + ": " + v.reason())
                .collect(Collectors.joining("\n")));
        this.file = file;
        this.violations = List.copyOf(violations);
    }

    public String file() {
        return file;
    }

    public List<Violation> violations() {
        return violations;
    }
}
