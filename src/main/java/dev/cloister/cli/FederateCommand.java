package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;

/** Submits a federation spec, optionally following its rounds to the end. */
@Command(name = "federate", description = {"Submit a federated training spec (YAML or JSON);",
        "--follow shows each round's sites and outcome, the held-out evaluation, then the signed serving image."})
final class FederateCommand implements Callable<Integer> {

    private static final Set<String> FINAL = Set.of("PUBLISHED", "FAILED", "CANCELLED");
    private static final long POLL_MILLIS = 1000;

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "SPEC", description = "federation spec file (.yaml, .yml or .json; - for standard input)")
    String spec;

    @Option(names = "--image", description = "replace the spec's image with this digest-pinned reference")
    String image;

    @Option(names = {"-f", "--follow"}, description = "follow the rounds until the federation ends; exit 0 only if"
            + " its model was sealed and its serving image published")
    boolean follow;

    @Override
    public Integer call() throws IOException, InterruptedException {
        byte[] body = spec.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(spec));
        boolean json = spec.endsWith(".json");
        if (image != null) {
            String text = new String(body, StandardCharsets.UTF_8);
            text = json ? text.replaceAll("\"image\"\\s*:\\s*\"[^\"]*\"", "\"image\": \"" + image + "\"")
                    : text.replaceAll("(?m)^image:.*$", "image: " + image);
            body = text.getBytes(StandardCharsets.UTF_8);
        }
        ApiClient api = server.client();
        JsonNode f = api.post("/api/v1/federations", json ? "application/json" : "application/yaml", body);
        String id = f.path("id").asText();
        PrintStream out = System.out;
        out.println(id);
        if (!follow) {
            return 0;
        }
        FederationPrinter printer = new FederationPrinter(System.err);
        printer.header(f);
        while (true) {
            f = api.get("/api/v1/federations/" + id);
            printer.progress(f);
            printer.state(f);
            if (FINAL.contains(f.path("state").asText())) {
                break;
            }
            Thread.sleep(POLL_MILLIS);
        }
        printer.end(f);
        return f.path("state").asText().equals("PUBLISHED") ? 0 : 1;
    }
}
