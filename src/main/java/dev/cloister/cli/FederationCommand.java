package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** Federation status (per round and per site), a site's log, cancel. */
@Command(name = "federation", description = "Inspect federations: status, a site's log, cancel.",
        subcommands = {FederationCommand.Status.class, FederationCommand.Logs.class, FederationCommand.Cancel.class})
final class FederationCommand {

    @Command(name = "status", description = "Show a federation's rounds and sites (or list federations).")
    static final class Status implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(arity = "0..1", paramLabel = "FEDERATION", description = "federation id")
        String id;

        @Option(names = "--json", description = "print the federation as JSON")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ApiClient api = server.client();
            PrintStream out = System.out;
            if (id == null) {
                for (JsonNode f : api.get("/api/v1/federations")) {
                    out.printf("%s  %-10s %-24s %s%n", f.path("id").asText(), f.path("state").asText(),
                            f.path("name").asText(), f.path("reason").asText());
                }
                return 0;
            }
            JsonNode f = api.get("/api/v1/federations/" + id);
            if (json) {
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(f));
                return 0;
            }
            FederationPrinter printer = new FederationPrinter(out);
            printer.header(f);
            printer.progress(f);
            for (JsonNode r : f.path("rounds")) {
                if (r.path("state").asText().equals("RUNNING")) {
                    for (JsonNode s : r.path("sites")) {
                        out.printf("round %d  %-10s %s%n", r.path("number").asInt(), s.path("site").asText(),
                                s.path("state").asText());
                    }
                }
            }
            printer.end(f);
            return 0;
        }
    }

    @Command(name = "logs", description = "Print one site's log across rounds (for that site's team).")
    static final class Logs implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(index = "0", paramLabel = "FEDERATION", description = "federation id")
        String id;

        @Parameters(index = "1", paramLabel = "SITE", description = "site name")
        String site;

        @Override
        public Integer call() {
            server.client().stream("/api/v1/federations/" + id + "/sites/" + site + "/log", System.out);
            return 0;
        }
    }

    @Command(name = "cancel", description = "Cancel a running federation (its round in progress fails, signed).")
    static final class Cancel implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "FEDERATION", description = "federation id")
        String id;

        @Override
        public Integer call() {
            JsonNode f = server.client().post("/api/v1/federations/" + id + "/cancel", "application/json", new byte[0]);
            System.out.println(f.path("id").asText() + " " + f.path("state").asText());
            return 0;
        }
    }
}
