package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** Registers datasets (directories under the service's datasets root) and lists them. */
@Command(name = "dataset", description = "Register or list datasets.",
        subcommands = {DatasetCommand.Register.class, DatasetCommand.ListAll.class})
final class DatasetCommand {

    @Command(name = "register", description = "Register the directory <datasets root>/NAME under NAME for a team "
            + "(administrators): only that team's jobs may mount it.")
    static final class Register implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME")
        String name;

        @picocli.CommandLine.Option(names = "--signature", paramLabel = "BUNDLE",
                description = "Sigstore bundle (JSON) signed by the owning team's CI, over the dataset's only file or its MANIFEST.sha256")
        java.nio.file.Path signature;

        @picocli.CommandLine.Option(names = "--team", description = "the owning team (default: the token's team)")
        String team;

        @Override
        public Integer call() throws Exception {
            ObjectMapper json = new ObjectMapper();
            var body = json.createObjectNode().put("name", name);
            if (team != null) {
                body.put("team", team);
            }
            if (signature != null) {
                body.set("signature", json.readTree(java.nio.file.Files.readString(signature)));
            }
            JsonNode d = server.client().post("/api/v1/datasets", "application/json", json.writeValueAsBytes(body));
            System.out.printf("%s %s (%d files, %d bytes), team %s%n", d.path("name").asText(),
                    d.path("digest").asText(), d.path("files").asLong(), d.path("bytes").asLong(),
                    d.path("team").asText());
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
                System.out.printf("%-24s %-16s %s%n", d.path("name").asText(), d.path("team").asText(),
                        d.path("digest").asText());
            }
            return 0;
        }
    }
}
