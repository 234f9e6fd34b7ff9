package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.Map;
import java.util.concurrent.Callable;

/** Registers datasets (directories under the service's datasets root) and lists them. */
@Command(name = "dataset", description = "Register or list datasets.",
        subcommands = {DatasetCommand.Register.class, DatasetCommand.ListAll.class})
final class DatasetCommand {

    @Command(name = "register", description = "Register the directory <datasets root>/NAME under NAME.")
    static final class Register implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            JsonNode d = server.client().post("/api/v1/datasets", "application/json",
                    new ObjectMapper().writeValueAsBytes(Map.of("name", name)));
            System.out.printf("%s %s (%d files, %d bytes)%n", d.path("name").asText(), d.path("digest").asText(),
                    d.path("files").asLong(), d.path("bytes").asLong());
            return 0;
        }
    }

    @Command(name = "list", description = "List registered datasets.")
    static final class ListAll implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            for (JsonNode d : server.client().get("/api/v1/datasets")) {
                System.out.printf("%-24s %s%n", d.path("name").asText(), d.path("digest").asText());
            }
            return 0;
        }
    }
}
