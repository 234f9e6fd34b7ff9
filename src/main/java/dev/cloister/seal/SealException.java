package dev.cloister.seal;

import java.util.List;

/** A model directory could not be hashed or sealed; {@link #problems()} lists every problem found. */
public class SealException extends Exception {

    private final List<String> problems;

    public SealException(List<String> problems) {
        super(String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public SealException(String problem, Throwable cause) {
        super(problem, cause);
        this.problems = List.of(problem);
    }

    /** Every problem, in words, in the order found. */
    public List<String> problems() {
        return problems;
    }
}
