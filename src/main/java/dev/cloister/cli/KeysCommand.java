package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** Public keys of the host, for pinning by deployers. */
@Command(name = "keys", description = "Show or export the host's public signing keys.",
        subcommands = {KeysCommand.Export.class, KeysCommand.ListAll.class})
final class KeysCommand {

    @Command(name = "export", description = "Print a public key as PEM (the active one unless --id is given).")
    static final class Export implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Option(names = "--id", description = "key id (hex SHA-256 of the PEM)")
        String id;

        @Override
        public Integer call() {
            for (JsonNode k : server.client().get("/api/v1/keys")) {
                if (id == null ? k.path("active").asBoolean() : k.path("id").asText().equals(id)) {
                    System.out.print(k.path("pem").asText());
                    return 0;
                }
            }
            System.err.println("cloister: no " + (id == null ? "active key" : "key " + id));
            return 1;
        }
    }

    @Command(name = "list", description = "List the host's public keys.")
    static final class ListAll implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            for (JsonNode k : server.client().get("/api/v1/keys")) {
                System.out.printf("%s  %s  %s%n", k.path("id").asText(), k.path("created").asText(),
                        k.path("active").asBoolean() ? "active" : "retired");
            }
            return 0;
        }
    }
}
