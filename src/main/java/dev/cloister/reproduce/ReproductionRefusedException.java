package dev.cloister.reproduce;

import dev.cloister.policy.Violation;

import java.util.List;

/** A sealed job cannot be re-run as it was: the job is not sealed, or its recorded inputs changed (each named). */
public final class ReproductionRefusedException extends Exception {

    private final List<Violation> violations;

    public ReproductionRefusedException(String message, List<Violation> violations) {
        super(message);
        this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
        return violations;
    }
}
