package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;

/** Human-readable lines about a job, for the client commands. */
final class JobPrinter {

    private JobPrinter() {
    }

    static void summary(JsonNode job, PrintStream out) {
        out.printf("job %s (%s) %s under policy %s [%s]%n", job.path("id").asText(), job.path("name").asText(),
                job.path("state").asText(), job.path("policy").asText(), job.path("runtime").asText());
        out.printf("  image   %s%n", job.path("image").asText());
        out.printf("  policy  %s%n", job.path("policyDigest").asText());
        if (job.hasNonNull("dataset")) {
            out.printf("  dataset %s %s%n", job.path("dataset").asText(), job.path("datasetDigest").asText());
        }
    }

    static void result(JsonNode job, PrintStream out) {
        out.printf("job %s %s: %s%n", job.path("id").asText(), job.path("state").asText(), job.path("reason").asText());
        if (job.hasNonNull("artifactDir")) {
            out.printf("  artifacts %s %s%n", job.path("artifactDir").asText(), job.path("outputs"));
        }
    }
}
