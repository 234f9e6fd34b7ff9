package dev.cloister.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** Prints a job's log; {@code --follow} keeps streaming until the job ends. */
@Command(name = "logs", description = "Print a job's log; --follow streams it until the job ends.")
final class LogsCommand implements Callable<Integer> {

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "JOB", description = "job id")
    String id;

    @Option(names = {"-f", "--follow"}, description = "keep streaming until the job ends")
    boolean follow;

    @Override
    public Integer call() {
        server.client().stream("/api/v1/jobs/" + id + "/logs" + (follow ? "?follow=true" : ""), System.out);
        return 0;
    }
}
