package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.seal.ReproductionStatement;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerificationException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Re-runs a sealed job with exactly what its provenance records, follows the re-run, then prints the signed verdict:
 * file by file, same or different. Exit 0 reproduced, 1 not (or refused), 2 usage error.
 */
@Command(name = "reproduce", description = {"Re-run a sealed job with exactly what its provenance records and",
        "compare the new outputs with the sealed ones, file by file; prints the signed verdict."})
final class ReproduceCommand implements Callable<Integer> {

    private static final Set<String> FINAL = Set.of("PUBLISHED", "FAILED", "CANCELLED", "TIMED_OUT", "OOM_KILLED");
    private static final Duration VERDICT_WAIT = Duration.ofSeconds(60);

    @Mixin
    ServerOptions server;

    @Parameters(paramLabel = "JOB", description = "the sealed job to re-run")
    String job;

    @Option(names = "--key", paramLabel = "PUB.pem", description = "pinned public key to check the verdict's"
            + " signature with (default: the service's active key)")
    Path key;

    @Option(names = "--quiet", description = "do not stream the re-run's log")
    boolean quiet;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ApiClient api = server.client();
        PrintStream err = System.err;
        JsonNode rerun = api.post("/api/v1/jobs/" + job + "/reproduce", "application/json", new byte[0]);
        String id = rerun.path("id").asText();
        err.printf("re-running %s as %s%n", job, id);
        JobPrinter.summary(rerun, err);
        if (!quiet) {
            api.stream("/api/v1/jobs/" + id + "/logs?follow=true", err);
        }
        JsonNode end = api.get("/api/v1/jobs/" + id);
        for (Instant stop = Instant.now().plus(VERDICT_WAIT); !FINAL.contains(end.path("state").asText())
                && Instant.now().isBefore(stop); end = api.get("/api/v1/jobs/" + id)) {
            Thread.sleep(250);
        }
        JobPrinter.result(end, err);
        JsonNode verdict = verdictFor(api, id);
        if (verdict == null) {
            err.println("cloister: no verdict for re-run " + id + " (the service log says why)");
            return 1;
        }
        print(verdict.path("predicate"), System.out);
        return ReproductionStatement.REPRODUCED.equals(verdict.path("predicate").path("verdict").asText()) ? 0 : 1;
    }

    // The attestation is signed when the re-run seals (or ends); it must be about this re-run and verify.
    private JsonNode verdictFor(ApiClient api, String rerunId) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        String pem = key != null ? Files.readString(key) : activeKey(api);
        for (Instant stop = Instant.now().plus(VERDICT_WAIT); Instant.now().isBefore(stop); Thread.sleep(250)) {
            byte[] bundle;
            try {
                bundle = api.getBytes("/api/v1/jobs/" + job + "/reproduction");
            } catch (ApiClient.ApiException e) {
                continue;
            }
            try {
                JsonNode statement = json.readTree(new ModelVerifier().verifyStatementBundle(bundle, pem,
                        ReproductionStatement.PREDICATE_TYPE));
                if (statement.path("predicate").path("rerun").path("jobId").asText().equals(rerunId)) {
                    return statement;
                }
            } catch (VerificationException e) {
                throw new ApiClient.ApiException("the reproduction attestation does not verify: " + e.reasons(), 1);
            }
        }
        return null;
    }

    static void print(JsonNode p, PrintStream out) {
        JsonNode files = p.path("files");
        int same = 0;
        for (JsonNode f : files) {
            same += f.path("match").asBoolean() ? 1 : 0;
        }
        String original = p.path("original").path("jobId").asText();
        String rerun = p.path("rerun").path("jobId").asText();
        if (ReproductionStatement.REPRODUCED.equals(p.path("verdict").asText())) {
            out.printf("REPRODUCED: %s re-run as %s, %d/%d file(s) bit for bit identical%n", original, rerun, same,
                    files.size());
        } else {
            out.printf("NOT REPRODUCED: %s re-run as %s (%s%s): %d of %d file(s) differ%n", original, rerun,
                    p.path("rerun").path("state").asText(), p.path("rerun").hasNonNull("reason")
                            ? ", " + p.path("rerun").path("reason").asText() : "", files.size() - same, files.size());
        }
        for (JsonNode f : files) {
            boolean match = f.path("match").asBoolean();
            out.printf("  %-8s %s%s%n", match ? "same" : "DIFFERS", f.path("path").asText(), match
                    ? "  " + f.path("original").asText()
                    : "  original " + f.path("original").asText("missing") + ", re-run " + f.path("rerun").asText("missing"));
        }
        out.printf("  model    %s%n", p.path("original").path("modelDigest").asText());
        out.printf("  inputs   image %s, dataset %s, policy %s, seed %s%n", p.path("inputs").path("image").asText(),
                p.path("inputs").path("dataset").asText(), p.path("inputs").path("policy").asText(),
                p.path("inputs").path("seed").asText());
    }

    private static String activeKey(ApiClient api) {
        for (JsonNode k : api.get("/api/v1/keys")) {
            if (k.path("active").asBoolean()) {
                return k.path("pem").asText();
            }
        }
        throw new ApiClient.ApiException("the service lists no active key", 1);
    }
}
