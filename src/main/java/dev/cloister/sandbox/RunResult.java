package dev.cloister.sandbox;

import java.time.Instant;
import java.util.List;

/**
 * The end of a run. {@code failure} is the text of {@code /out/failure} when the job wrote one (SageMaker contract);
 * {@code outputProblems} lists outputs refused at collection (symlinks, devices, over the cap), each with its reason.
 */
public record RunResult(RunOutcome outcome, Integer exitCode, Instant startedAt, Instant finishedAt,
                        String failure, List<OutputFile> outputs, List<String> outputProblems) {

    public RunResult {
        outputs = List.copyOf(outputs);
        outputProblems = List.copyOf(outputProblems);
    }

    /** A regular file collected from {@code /out}, by its path relative to the artifact directory. */
    public record OutputFile(String path, long size) {
    }
}
