package dev.cloister.policy;

/** One reason a policy file or a job spec is refused, with the field at fault (dotted path). */
public record Violation(String field, String reason) {

    @Override
    public String toString() {
        return field + ": " + reason;
    }
}
