package dev.cloister.cli;

import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Optional;

/**
 * Where the service is and which token to send; shared by every client command. The server: {@code --server}, else
 * {@code CLOISTER_SERVER}, else the saved login ({@code cloister login}), else http://127.0.0.1:8080. The token:
 * {@code CLOISTER_TOKEN}, else the saved login (never an option: command lines are visible to every user).
 */
final class ServerOptions {

    static final URI DEFAULT_SERVER = URI.create("http://127.0.0.1:8080");

    @Option(names = "--server", description = "Cloister service URL (default: env CLOISTER_SERVER, the saved login, "
            + "or http://127.0.0.1:8080)")
    URI server;

    ApiClient client() {
        Optional<ClientConfig> saved;
        try {
            saved = ClientConfig.load();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
        URI base = server != null ? server
                : env("CLOISTER_SERVER").map(URI::create)
                .or(() -> saved.map(ClientConfig::server).filter(s -> !s.isBlank()).map(URI::create))
                .orElse(DEFAULT_SERVER);
        String token = env("CLOISTER_TOKEN").or(() -> saved.map(ClientConfig::token)).orElse(null);
        return new ApiClient(base, token);
    }

    private static Optional<String> env(String name) {
        return Optional.ofNullable(System.getenv(name)).filter(v -> !v.isBlank());
    }
}
