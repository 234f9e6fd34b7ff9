package dev.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.digest.Digest;
import dev.cloister.seal.JobSealer;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReproductionVerifier;
import dev.cloister.verify.ReleaseClaims;
import dev.cloister.verify.SealReport;
import dev.cloister.verify.SealVerifier;
import dev.cloister.verify.VerificationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** Offline verification with a pinned public key. Exit 0 verified, 1 not verified, 2 usage error. */
@Command(name = "verify", description = "Verify signatures and provenance offline with a pinned public key.",
        subcommands = {VerifyCommand.Model.class, ImageCommands.VerifyImage.class, VerifyFederationCommand.class})
final class VerifyCommand {

    @Command(name = "model", description = {"Re-hash a sealed model directory and check model.sig (OMS v1.0);",
            "with provenance (given, or provenance.sigstore.json in DIR) also check the signed SLSA provenance,",
            "that it lists exactly these files, and any claims."})
    static final class Model implements Callable<Integer> {

        @Parameters(paramLabel = "DIR", description = "the model directory")
        Path dir;

        @Option(names = "--key", required = true, paramLabel = "PUB.pem", description = "pinned public key (PEM)")
        Path key;

        @Option(names = "--provenance", paramLabel = "FILE",
                description = "signed provenance bundle (default: DIR/provenance.sigstore.json when present)")
        Path provenance;

        @Option(names = "--no-provenance", description = "check only model.sig, even if a provenance file is present")
        boolean noProvenance;

        @Option(names = "--policy", paramLabel = "NAME", description = "require training under this policy")
        String policy;

        @Option(names = "--dataset-digest", paramLabel = "sha256:...", description = "require this dataset digest")
        String datasetDigest;

        @Option(names = "--image-digest", paramLabel = "sha256:...", description = "require this training image digest")
        String imageDigest;

        @Option(names = "--ignore", paramLabel = "PATH", description = "leave PATH (relative to DIR) out of the hash")
        List<String> ignore = List.of();

        @Option(names = "--require-reproduced", description = "require a signed reproducibility attestation"
                + " (given, or reproduction.sigstore.json in DIR) saying a re-run reproduced every file of this model")
        boolean requireReproduced;

        @Option(names = "--reproduction", paramLabel = "FILE",
                description = "the reproducibility attestation (default: DIR/reproduction.sigstore.json)")
        Path reproduction;

        @Option(names = "--json", description = "print a machine-readable report")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            if (!Files.isDirectory(dir)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "not a directory: " + dir);
            }
            String pem;
            try {
                pem = Files.readString(key);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "cannot read key " + key);
            }
            ReleaseClaims claims = new ReleaseClaims(Optional.ofNullable(policy), digest("--dataset-digest", datasetDigest),
                    digest("--image-digest", imageDigest));
            Optional<Path> prov = noProvenance ? Optional.empty()
                    : Optional.ofNullable(provenance).or(() -> SealVerifier.defaultProvenance(dir));
            PrintStream out = System.out;
            try {
                SealReport report = new SealVerifier(new ModelVerifier()).verify(dir, pem, prov, claims, ignore);
                ReproductionVerifier.VerifiedReproduction reproduced = null;
                if (requireReproduced) {
                    reproduced = reproduced(pem, report);
                }
                print(out, true, report, List.of());
                if (reproduced != null && !json) {
                    out.printf("  reproduced by re-run %s of %s: %d/%d file(s) identical (compared %s)%n",
                            reproduced.rerunJob(), reproduced.originalJob(), reproduced.files(),
                            report.model().fileCount(), reproduced.comparedOn());
                }
                return 0;
            } catch (VerificationException e) {
                print(out, false, null, e.reasons());
                return 1;
            }
        }

        private ReproductionVerifier.VerifiedReproduction reproduced(String pem, SealReport report)
                throws VerificationException {
            Path file = reproduction != null ? reproduction : dir.resolve(JobSealer.REPRODUCTION_FILE);
            byte[] bundle;
            try {
                bundle = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new VerificationException("--require-reproduced: no reproducibility attestation at " + file
                        + " (re-run the job with cloister reproduce)");
            }
            return new ReproductionVerifier(new ModelVerifier()).verify(bundle, pem, report.model());
        }

        private Optional<Digest> digest(String option, String text) {
            try {
                return Optional.ofNullable(text).map(Digest::parse);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), option + ": " + e.getMessage());
            }
        }

        private void print(PrintStream out, boolean verified, SealReport report, List<String> reasons) throws IOException {
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("verified", verified);
                r.put("directory", dir.toString());
                if (report != null) {
                    r.put("model", report.model());
                    r.put("provenance", report.provenance().orElse(null));
                }
                r.put("reasons", reasons);
                out.println(new ObjectMapper().registerModule(new JavaTimeModule())
                        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                        .writerWithDefaultPrettyPrinter().writeValueAsString(r));
                return;
            }
            if (!verified) {
                out.println("NOT VERIFIED: " + dir);
                reasons.forEach(reason -> out.println("  - " + reason));
                return;
            }
            var m = report.model();
            out.println("VERIFIED: " + dir);
            out.printf("  model      %s, %d file(s), root %s%n", m.subjectName(), m.fileCount(), m.rootDigest());
            out.printf("  signed by  key %s%n", m.keyId());
            report.provenance().ifPresentOrElse(p -> {
                out.printf("  provenance job %s on %s%n", p.jobId(), p.builderId());
                out.printf("  policy     %s %s (runtime %s)%n", p.policy(), p.policyDigest(), p.runtime());
                out.printf("  image      %s %s%n", p.image(), p.imageDigest());
                out.printf("  dataset    %s %s%n", p.dataset(), p.datasetDigest());
                out.printf("  trained    %s .. %s%n", p.startedOn(), p.finishedOn());
            }, () -> out.println("  provenance not checked"));
        }
    }
}
