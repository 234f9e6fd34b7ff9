package dev.cloister.policy;

import java.util.List;

/** A job spec was refused; carries every violation found, not just the first. */
public class AdmissionException extends Exception {

    private final List<Violation> violations;

    public AdmissionException(List<Violation> violations) {
        super("job refused: " + violations.size() + " violation(s): " + violations);
        if (violations.isEmpty()) {
            throw new IllegalArgumentException("an admission refusal needs at least one violation");
        }
        this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
        return violations;
    }
}
