package dev.cloister.image;

import java.util.List;

/**
 * An image could not be built, pushed or signed: bad input (an unpinned base, an unsealed model directory), a
 * registry that refused or did not answer in time. {@link #problems()} lists every problem found.
 */
public class ImageException extends Exception {

    private final List<String> problems;

    public ImageException(List<String> problems) {
        super(String.join("; ", problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("an image failure needs a reason");
        }
        this.problems = List.copyOf(problems);
    }

    public ImageException(String problem) {
        this(List.of(problem));
    }

    public ImageException(String problem, Throwable cause) {
        super(problem, cause);
        this.problems = List.of(problem);
    }

    /** Every problem, in the order found. */
    public List<String> problems() {
        return problems;
    }
}
