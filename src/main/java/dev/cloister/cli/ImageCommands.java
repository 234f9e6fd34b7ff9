package dev.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.RegistryLimits;
import dev.cloister.image.ReleasePolicy;
import dev.cloister.image.VerifiedImage;
import dev.cloister.policy.PolicyException;
import dev.cloister.sandbox.DockerSandbox;
import dev.cloister.sandbox.DockerTimeouts;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.sandbox.ServingDeployment;
import dev.cloister.verify.VerificationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code verify image} and {@code deploy}: serving images are verified offline against a pinned key first. */
final class ImageCommands {

    private ImageCommands() {
    }

    /** Options shared by verify image and deploy. */
    static final class Pinned {
        @Parameters(paramLabel = "REF", description = "image reference, by tag or digest (registry host written out)")
        String ref;

        @Option(names = "--key", required = true, paramLabel = "PUB.pem", description = "pinned public key (PEM)")
        Path key;

        @Option(names = "--release-policy", paramLabel = "FILE", description = "release policy (YAML) to enforce")
        Path releasePolicy;

        VerifiedImage verify(CommandLine cmd) throws VerificationException {
            ImageReference image;
            Optional<ReleasePolicy> policy;
            String pem;
            try {
                image = ImageReference.parse(ref);
                pem = Files.readString(key);
                policy = releasePolicy == null ? Optional.empty() : Optional.of(ReleasePolicy.read(releasePolicy));
            } catch (IllegalArgumentException | PolicyException | IOException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
            return new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC()).verify(image, pem, policy);
        }
    }

    static void print(VerifiedImage report, List<String> reasons, String ref, boolean json) throws IOException {
        if (json) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("verified", report != null);
            r.put("image", ref);
            r.put("report", report);
            r.put("reasons", reasons);
            System.out.println(new ObjectMapper().registerModule(new JavaTimeModule()).registerModule(new Jdk8Module())
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).writerWithDefaultPrettyPrinter()
                    .writeValueAsString(r));
        } else if (report == null) {
            System.out.println("NOT VERIFIED: " + ref);
            reasons.forEach(reason -> System.out.println("  - " + reason));
        } else {
            System.out.println("VERIFIED: " + report.image());
            System.out.printf("  signed by  key %s (signature and SLSA attestation)%n", report.keyId());
            System.out.printf("  model      %s from %s %s, policy %s%n", report.modelDigest(), report.originKind(),
                    report.origin(), report.trainingPolicy());
            System.out.printf("  provenance %s (the model's signed training provenance)%n",
                    report.trainingProvenance());
            report.datasetDigests().forEach(d -> System.out.printf("  dataset    %s%n", d));
            System.out.printf("  base       %s%n", report.baseImage());
            System.out.printf("  built      %s by %s%n", report.builtOn(), report.builderId());
        }
    }

    @Command(name = "image", description = "Verify a serving image's signature, attestation and release claims.")
    static final class VerifyImage implements Callable<Integer> {
        @CommandLine.Mixin
        Pinned pinned;

        @Option(names = "--json", description = "print a machine-readable report")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            try {
                print(pinned.verify(spec.commandLine()), List.of(), pinned.ref, json);
                return 0;
            } catch (VerificationException e) {
                print(null, e.reasons(), pinned.ref, json);
                return 1;
            }
        }
    }

    @Command(name = "deploy", description = "Verify a serving image, then run it hardened on 127.0.0.1 (refuses what "
            + "does not verify).")
    static final class Deploy implements Callable<Integer> {
        @CommandLine.Mixin
        Pinned pinned;

        @Option(names = "--port", defaultValue = "8480", description = "port on 127.0.0.1 (default ${DEFAULT-VALUE})")
        int port;

        @Option(names = "--name", defaultValue = "cloister-serving", description = "container name (default ${DEFAULT-VALUE})")
        String name;

        @Option(names = "--seccomp", defaultValue = "seccomp-profiles/serving.json", description = "serving seccomp profile")
        Path seccomp;

        @Option(names = "--docker-host", defaultValue = "unix:///var/run/docker.sock")
        URI dockerHost;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            VerifiedImage report;
            try {
                report = pinned.verify(spec.commandLine());
            } catch (VerificationException e) {
                System.out.println("REFUSED: " + pinned.ref + " does not verify; nothing deployed");
                e.reasons().forEach(reason -> System.out.println("  - " + reason));
                return 1;
            }
            print(report, List.of(), pinned.ref, false);
            String byDigest = report.image().registry() + "/" + report.image().repository() + "@" + report.digest();
            DockerTimeouts timeouts = DockerTimeouts.defaults();
            try (var docker = DockerSandbox.connect(dockerHost, timeouts);
                 ServingDeployment deployment = new ServingDeployment(docker, timeouts)) {
                ServingDeployment.Running running = deployment.deploy(byDigest, name, port, Files.readString(seccomp));
                System.out.printf("DEPLOYED: %s as %s (%s), answering at %s%n", byDigest, running.name(),
                        running.containerId().substring(0, 12), running.url());
                return 0;
            } catch (SandboxException e) {
                System.out.println("DEPLOY FAILED: " + e.getMessage());
                return 1;
            }
        }
    }
}
