package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.build.BuildContext;
import dev.cloister.build.BuildException;
import dev.cloister.digest.Digest;
import dev.cloister.verify.BuildProvenanceVerifier;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerificationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Builds a training image through the service: tars DIR deterministically, uploads it, then checks the signed
 * provenance that comes back names this very context and the pushed image. The image reference goes to stdout.
 */
@Command(name = "build", description = {"Build a training image from DIR (its Dockerfile and files) under a policy:",
        "no network, no pull, no cache; pushed to Cloister's registry by digest with signed provenance.",
        "Prints registry/repository@sha256:... on stdout."})
final class ImageBuildCommand implements Callable<Integer> {

    private static final Duration BUILD_WAIT = Duration.ofMinutes(16);

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "DIR", description = "build context: a directory with a Dockerfile at its root")
    Path dir;

    @Option(names = "--repository", required = true, paramLabel = "REPO",
            description = "repository in Cloister's registry, e.g. cloister/example-breast-cancer")
    String repository;

    @Option(names = "--tag", paramLabel = "TAG", description = "tag to push (default: latest)")
    String tag;

    @Option(names = "--policy", paramLabel = "NAME", description = "policy to build under (default: the service's)")
    String policy;

    @Option(names = "--build-arg", paramLabel = "NAME=VALUE", description = "a build arg (audited and recorded in"
            + " the provenance: never a secret)")
    List<String> buildArgs = new ArrayList<>();

    @Option(names = "--key", paramLabel = "PUB.pem", description = "pinned public key to verify the provenance"
            + " with (default: the service's active key, which proves less)")
    Path key;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(dir.resolve(BuildContext.DOCKERFILE))) {
            throw new CommandLine.ParameterException(spec.commandLine(), dir + " has no Dockerfile");
        }
        byte[] tar = BuildContext.tarDirectory(dir);
        Digest localContext = localDigest(tar);
        PrintStream err = System.err;
        err.printf("context  %s (%d bytes, digest %s)%n", dir, tar.length, localContext);
        StringBuilder query = new StringBuilder("/api/v1/images?repository=").append(encode(repository));
        if (policy != null) {
            query.append("&policy=").append(encode(policy));
        }
        if (tag != null) {
            query.append("&tag=").append(encode(tag));
        }
        for (String arg : buildArgs) {
            query.append("&buildArg=").append(encode(arg));
        }
        ApiClient api = server.client();
        JsonNode record = api.post(query.toString(), "application/x-tar", tar, BUILD_WAIT);
        err.println("--- build output (last lines) ---");
        err.println(record.path("log").asText());
        err.println("--- end of build output ---");
        String image = record.path("image").asText();
        Digest manifest = Digest.parse(record.path("manifestDigest").asText());
        byte[] bundle = api.getBytes("/api/v1/images/" + manifest + "/provenance");
        String pem = key != null ? Files.readString(key) : activeKey(api);
        try {
            BuildProvenanceVerifier.VerifiedBuild b = new BuildProvenanceVerifier(new ModelVerifier())
                    .verify(bundle, pem, Optional.of(manifest), Optional.of(localContext));
            err.printf("built    %s%n", image);
            err.printf("policy   %s %s%n", b.policy(), b.policyDigest());
            err.printf("bases    %s%n", String.join(", ", b.bases()));
            err.printf("provenance verified%s: context %s, Dockerfile %s, build args %s%n",
                    key == null ? " (with the service's active key)" : " with " + key, b.contextDigest(),
                    b.dockerfileDigest(), b.buildArgs());
        } catch (VerificationException e) {
            err.println("cloister: the build's provenance does not verify:");
            e.reasons().forEach(r -> err.println("  - " + r));
            return 1;
        }
        System.out.println(image);
        return 0;
    }

    // The digest the service must name: computed here from the same bytes, by the same rules.
    private static Digest localDigest(byte[] tar) throws IOException {
        Path tmp = Files.createTempDirectory("cloister-context");
        try (BuildContext context = BuildContext.read(new ByteArrayInputStream(tar), tmp.resolve("c"),
                new BuildContext.Limits(Long.MAX_VALUE / 4, Integer.MAX_VALUE))) {
            return context.digest();
        } catch (BuildException e) {
            throw new IOException("the context cannot be built: " + e.getMessage()
                    + (e.violations().isEmpty() ? "" : " " + e.violations()), e);
        } finally {
            Files.deleteIfExists(tmp.resolve("c"));
            Files.deleteIfExists(tmp);
        }
    }

    private static String activeKey(ApiClient api) {
        for (JsonNode k : api.get("/api/v1/keys")) {
            if (k.path("active").asBoolean()) {
                return k.path("pem").asText();
            }
        }
        throw new ApiClient.ApiException("the service lists no active key", 1);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** The {@code image} command group: training image builds. */
    @Command(name = "image", description = "Training images built by Cloister.", subcommands = ImageBuildCommand.class)
    static final class Group {
    }

}
