package dev.cloister.cli;

import dev.cloister.verify.FederationVerifier;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerificationException;
import dev.cloister.verify.VerifiedFederation;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code cloister verify federation DIR --key PUB.pem}: the chain of round records and the final seal, offline. */
@Command(name = "federation", description = {"Check a federation directory offline (rounds/, model/, optional globals/):",
        "every round record's signature, the chain's order and links, each round's input against the previous",
        "output, and the final model's seal and provenance."})
final class VerifyFederationCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "the federation directory (as downloaded from .../artifacts)")
    Path dir;

    @Option(names = "--key", required = true, paramLabel = "PUB.pem", description = "pinned public key (PEM)")
    Path key;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!Files.isDirectory(dir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "not a directory: " + dir);
        }
        String pem;
        try {
            pem = Files.readString(key);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "cannot read key " + key);
        }
        PrintStream out = System.out;
        try {
            VerifiedFederation v = new FederationVerifier(new ModelVerifier()).verify(dir, pem);
            out.println("VERIFIED: " + dir);
            out.printf("  federation %s (%s), %d round(s)%n", v.federationId(), v.name(), v.rounds().size());
            out.printf("  initial    %s%n", v.initialGlobal());
            for (VerifiedFederation.Round r : v.rounds()) {
                out.printf("  round %d    %s -> %s, record %s%n", r.number(), r.input(), r.output(), r.recordDigest());
                r.accepted().forEach(a -> out.printf("             accepted %s%n", a));
                r.excluded().forEach(x -> out.printf("             excluded %s%n", x));
            }
            var m = v.model().model();
            out.printf("  model      %s, %d file(s), root %s%n", m.subjectName(), m.fileCount(), m.rootDigest());
            out.printf("  final      %s%n", v.finalGlobal());
            out.printf("  signed by  key %s%n", m.keyId());
            out.flush();
            return 0;
        } catch (VerificationException e) {
            out.println("NOT VERIFIED: " + dir);
            e.reasons().forEach(r -> out.println("  - " + r));
            out.flush();
            return 1;
        }
    }
}
