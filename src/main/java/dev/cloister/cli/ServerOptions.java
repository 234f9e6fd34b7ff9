package dev.cloister.cli;

import picocli.CommandLine.Option;

import java.net.URI;

/** Where the service is; shared by every client command. */
final class ServerOptions {

    @Option(names = "--server", defaultValue = "${env:CLOISTER_SERVER:-http://127.0.0.1:8080}",
            description = "Cloister service URL (env CLOISTER_SERVER; default ${DEFAULT-VALUE})")
    URI server;

    ApiClient client() {
        return new ApiClient(server);
    }
}
