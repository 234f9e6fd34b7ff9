package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Submits a job spec file (YAML or JSON), optionally following it to its end. */
@Command(name = "submit", description = "Submit a job spec (YAML or JSON); --follow streams its log to the end.")
final class SubmitCommand implements Callable<Integer> {

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "SPEC", description = "job spec file (.yaml, .yml or .json; - for standard input)")
    String spec;

    @Option(names = "--image", description = "replace the spec's image with this digest-pinned reference")
    String image;

    @Option(names = {"-f", "--follow"}, description = "follow the job's log until it ends; exit 0 only if it was sealed and published")
    boolean follow;

    @Override
    public Integer call() throws IOException {
        byte[] body = spec.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(spec));
        boolean json = spec.endsWith(".json");
        if (image != null) {
            String text = new String(body, java.nio.charset.StandardCharsets.UTF_8);
            text = json ? text.replaceAll("\"image\"\\s*:\\s*\"[^\"]*\"", "\"image\": \"" + image + "\"")
                    : text.replaceAll("(?m)^image:.*$", "image: " + image);
            body = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        ApiClient api = server.client();
        JsonNode job = api.post("/api/v1/jobs", json ? "application/json" : "application/yaml", body);
        PrintStream out = System.out;
        String id = job.path("id").asText();
        out.println(id);
        if (!follow) {
            return 0;
        }
        JobPrinter.summary(job, System.err);
        api.stream("/api/v1/jobs/" + id + "/logs?follow=true", out);
        JsonNode end = api.get("/api/v1/jobs/" + id);
        JobPrinter.result(end, System.err);
        return end.path("state").asText().equals("PUBLISHED") ? 0 : 1;
    }
}
