package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** Shows one job, or lists all jobs. */
@Command(name = "status", description = "Show a job (or list all jobs when no id is given).")
final class StatusCommand implements Callable<Integer> {

    @Mixin
    ServerOptions server;

    @Parameters(arity = "0..1", paramLabel = "JOB", description = "job id")
    String id;

    @Option(names = "--json", description = "print the job as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ApiClient api = server.client();
        if (id == null) {
            for (JsonNode j : api.get("/api/v1/jobs")) {
                System.out.printf("%s  %-10s %-24s %s%n", j.path("id").asText(), j.path("state").asText(),
                        j.path("name").asText(), j.path("reason").asText());
            }
            return 0;
        }
        JsonNode job = api.get("/api/v1/jobs/" + id);
        if (json) {
            System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(job));
        } else {
            JobPrinter.summary(job, System.out);
            JobPrinter.result(job, System.out);
        }
        return 0;
    }
}
