package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Saves the server URL and a token for the other commands, after checking the token with the service. The token is
 * read from standard input or a file, never from the command line (where every user of the host could see it).
 */
@Command(name = "login", description = "Check a token with the service and save it with the server URL in "
        + "$CLOISTER_CONFIG or ~/.config/cloister/config.json (mode 0600).")
final class LoginCommand implements Callable<Integer> {

    @Option(names = "--server", description = "service URL (default: env CLOISTER_SERVER, the saved one, or "
            + "http://127.0.0.1:8080)")
    URI server;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--token-stdin", required = true, description = "read the token from standard input")
        boolean stdin;

        @Option(names = "--token-file", required = true, description = "read the token from this file")
        Path file;
    }

    @Override
    public Integer call() throws IOException {
        String token = (source.file != null ? Files.readString(source.file, StandardCharsets.US_ASCII)
                : new String(System.in.readNBytes(16 * 1024), StandardCharsets.US_ASCII)).trim();
        if (token.isEmpty() || token.chars().anyMatch(c -> c <= ' ')) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "no token given (one line: the output of `cloister token issue`)");
        }
        URI base = server;
        if (base == null) {
            String env = System.getenv("CLOISTER_SERVER");
            base = env != null && !env.isBlank() ? URI.create(env)
                    : ClientConfig.load().map(ClientConfig::server).filter(v -> !v.isBlank()).map(URI::create)
                    .orElse(ServerOptions.DEFAULT_SERVER);
        }
        JsonNode me = new ApiClient(base, token).get("/api/v1/whoami");
        Path saved = new ClientConfig(base.toString(), token).save();
        System.out.printf("logged in to %s as %s (team %s, roles %s, expires %s)%nsaved to %s (mode 0600)%n", base,
                me.path("subject").asText(), me.path("team").asText(), String.join(",",
                        iterable(me.path("roles"))), me.path("expires").asText(), saved);
        return 0;
    }

    private static Iterable<String> iterable(JsonNode array) {
        java.util.List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
