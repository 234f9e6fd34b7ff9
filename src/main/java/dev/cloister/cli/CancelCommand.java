package dev.cloister.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** Cancels a queued or running job. */
@Command(name = "cancel", description = "Cancel a queued or running job.")
final class CancelCommand implements Callable<Integer> {

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "JOB", description = "job id")
    String id;

    @Override
    public Integer call() {
        JobPrinter.result(server.client().post("/api/v1/jobs/" + id + "/cancel", "application/json", new byte[0]),
                System.out);
        return 0;
    }
}
