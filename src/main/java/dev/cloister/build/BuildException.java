package dev.cloister.build;

import dev.cloister.policy.Violation;

import java.util.List;

/** A training image build was refused or failed; the message and violations say why, in words safe to return. */
public final class BuildException extends Exception {

    public enum Kind {
        /** The request, the context or the Dockerfile breaks a rule: every violation is listed. */
        REFUSED,
        /** The context is over its cap. */
        TOO_LARGE,
        /** The build ran and a step failed (a RUN exiting non-zero, a missing file to COPY). */
        FAILED,
        /** Another build is running (one at a time on this host). */
        BUSY,
        /** The engine or the registry failed or did not answer in time. */
        ENGINE
    }

    private final Kind kind;
    private final List<Violation> violations;
    private final String log;

    public BuildException(Kind kind, String message) {
        this(kind, message, List.of(), "");
    }

    /** A refusal with every violation. */
    public BuildException(List<Violation> violations) {
        this(Kind.REFUSED, violations.size() + " problem(s) with the build: " + violations, violations, "");
    }

    public BuildException(Kind kind, String message, List<Violation> violations, String log) {
        super(message);
        this.kind = kind;
        this.violations = List.copyOf(violations);
        this.log = log == null ? "" : log;
    }

    public Kind kind() {
        return kind;
    }

    public List<Violation> violations() {
        return violations;
    }

    /** The tail of the build's output when a step failed; empty otherwise. */
    public String log() {
        return log;
    }
}
