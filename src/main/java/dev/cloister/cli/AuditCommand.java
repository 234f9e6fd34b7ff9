package dev.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditReport;
import dev.cloister.audit.AuditVerificationException;
import dev.cloister.audit.AuditVerifier;
import dev.cloister.keys.KeyId;
import dev.cloister.keys.PublicKeyPem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;

/** The audit log: export it from the service, verify an export offline. */
@Command(name = "audit", description = "Export the audit log, or verify an export offline.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class})
final class AuditCommand {

    @Command(name = "verify", description = "Verify an audit export (JSON lines) offline: every entry's hash, the chain,"
            + " and every checkpoint's signature with the given public key(s). Exit 0 verified, 1 not (naming the first"
            + " bad sequence number), 2 usage error.")
    static final class Verify implements Callable<Integer> {

        @Parameters(paramLabel = "EXPORT", description = "the export, as GET /api/v1/audit?format=jsonl gives it")
        Path export;

        @Option(names = "--key", required = true, paramLabel = "PUB.pem",
                description = "a host public key (PEM); repeat for keys retired by rotation")
        List<Path> keys;

        @Option(names = "--segment", description = "accept an export that starts after entry 1 (one filtered by time);"
                + " its first entry's link to the one before is taken on trust")
        boolean segment;

        @Option(names = "--expect", paramLabel = "SEQ[:HASH]", description = "the export must reach entry SEQ (with"
                + " HASH, that entry must have it): pin what an earlier verify printed, so a cut tail is caught")
        String expect;

        @Option(names = "--json", description = "print a machine-readable report")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            if (!Files.isRegularFile(export)) {
                throw usage("not a file: " + export);
            }
            List<PublicKeyPem> pems = new ArrayList<>();
            for (Path key : keys) {
                try {
                    pems.add(PublicKeyPem.parse(Files.readString(key)));
                } catch (IOException | IllegalArgumentException e) {
                    throw usage("cannot use key " + key + ": " + e.getMessage());
                }
            }
            AuditVerifier.Options options = options();
            PrintStream out = System.out;
            try {
                AuditReport report = new AuditVerifier(pems).verify(export, options);
                print(out, report, null);
                return 0;
            } catch (AuditVerificationException e) {
                print(out, null, e);
                return 1;
            }
        }

        private AuditVerifier.Options options() {
            if (expect == null) {
                return new AuditVerifier.Options(segment, OptionalLong.empty(), Optional.empty());
            }
            String[] parts = expect.split(":", 2);
            try {
                return new AuditVerifier.Options(segment, OptionalLong.of(Long.parseLong(parts[0])),
                        parts.length == 2 ? Optional.of(parts[1]) : Optional.empty());
            } catch (IllegalArgumentException e) {
                throw usage("--expect: " + (e instanceof NumberFormatException ? "SEQ is not a number" : e.getMessage()));
            }
        }

        private void print(PrintStream out, AuditReport report, AuditVerificationException failure) throws IOException {
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("verified", failure == null);
                r.put("export", export.toString());
                if (failure != null) {
                    r.put("firstBadSeq", failure.seq());
                    r.put("reason", failure.reasons().get(0));
                } else {
                    r.put("entries", report.entries());
                    r.put("firstSeq", report.firstSeq());
                    r.put("lastSeq", report.lastSeq());
                    r.put("headHash", report.headHash());
                    r.put("checkpoints", report.checkpoints());
                    r.put("lastCheckpoint", report.lastCheckpoint().isPresent()
                            ? report.lastCheckpoint().getAsLong() : null);
                    r.put("unsigned", report.unsigned());
                    r.put("signedBy", report.signedBy().stream().map(KeyId::hex).sorted().toList());
                }
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r));
                return;
            }
            if (failure != null) {
                out.println("NOT VERIFIED: " + export);
                out.println("  first bad entry " + failure.seq());
                out.println("  " + failure.reasons().get(0));
                return;
            }
            out.println("VERIFIED: " + export);
            out.printf("  entries    %d (seq %d..%d), %d checkpoint(s) verified%n", report.entries(), report.firstSeq(),
                    report.lastSeq(), report.checkpoints());
            out.printf("  head       seq %d, hash %s%n", report.lastSeq(), report.headHash());
            if (report.lastCheckpoint().isPresent()) {
                long last = report.lastCheckpoint().getAsLong();
                out.printf("  signed     entries %d..%d, by the checkpoint at %d (keys %s)%n", report.firstSeq(), last - 1,
                        last, String.join(", ", report.signedBy().stream().map(KeyId::hex).sorted().toList()));
            } else {
                out.println("  signed     nothing: the export holds no checkpoint");
            }
            if (report.lastCheckpoint().isEmpty()) {
                out.printf("  unsigned   all %d entries: hash-chained only%n", report.entries());
            } else if (report.unsigned() > 0) {
                long from = report.lastSeq() - report.unsigned() + 1;
                out.printf("  unsigned   %d entr%s after the last checkpoint (seq %s): hash-chained only%n",
                        report.unsigned(), report.unsigned() == 1 ? "y" : "ies",
                        from == report.lastSeq() ? Long.toString(from) : from + ".." + report.lastSeq());
            } else {
                out.println("  unsigned   none after the last checkpoint");
            }
            out.printf("  pin        --expect %d:%s%n", report.lastSeq(), report.headHash());
        }

        private CommandLine.ParameterException usage(String message) {
            return new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }

    @Command(name = "export", description = "Write the audit log (or the entries the filters select) as JSON lines,"
            + " exactly as stored. Only an unfiltered export (or one filtered by time, with verify --segment) verifies.")
    static final class Export implements Callable<Integer> {

        @Mixin
        ServerOptions server;

        @Option(names = "--from", paramLabel = "INSTANT", description = "ISO-8601, inclusive")
        String from;

        @Option(names = "--to", paramLabel = "INSTANT", description = "ISO-8601, exclusive")
        String to;

        @Option(names = "--actor", description = "exact actor")
        String actor;

        @Option(names = "--job", paramLabel = "JOB", description = "entries about this job")
        String job;

        @Option(names = "--action", description = "exact action, such as job.admit")
        String action;

        @Option(names = "--limit", paramLabel = "N", description = "only the newest N matching entries")
        Integer limit;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "write here instead of standard output")
        Path output;

        @Override
        public Integer call() throws IOException {
            StringBuilder path = new StringBuilder("/api/v1/audit?format=jsonl");
            query(path, "from", from);
            query(path, "to", to);
            query(path, "actor", actor);
            query(path, "job", job);
            query(path, "action", action);
            query(path, "limit", limit == null ? null : limit.toString());
            if (output == null) {
                server.client().stream(path.toString(), System.out);
                return 0;
            }
            try (OutputStream out = Files.newOutputStream(output)) {
                server.client().stream(path.toString(), out);
            }
            return 0;
        }

        private static void query(StringBuilder path, String name, String value) {
            if (value != null) {
                path.append('&').append(name).append('=').append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
        }
    }
}
