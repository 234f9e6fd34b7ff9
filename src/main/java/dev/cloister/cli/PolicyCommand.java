package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.policy.Policy;
import dev.cloister.policy.PolicyDiff;
import dev.cloister.policy.PolicyException;
import dev.cloister.policy.PolicyReader;
import dev.cloister.policy.Violation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Reviewer tooling: lint policy files, diff two versions, read a policy's report, run the probe suite under it. */
@Command(name = "policy", description = "Lint, diff, report on and probe policies.",
        subcommands = {PolicyCommand.Lint.class, PolicyCommand.Diff.class, PolicyCommand.Report.class,
                PolicyCommand.Probe.class})
final class PolicyCommand {

    /** Where a file's seccomp profiles are: --seccomp-dir, else seccomp-profiles/ beside its policies/ directory. */
    static final class ProfileDir {
        @Option(names = "--seccomp-dir", paramLabel = "DIR",
                description = "directory of the seccomp profiles the policies name (default: ../seccomp-profiles "
                        + "from the policy file's directory, else ./seccomp-profiles)")
        Path dir;

        PolicyReader readerFor(Path file) {
            Path profiles = dir;
            if (profiles == null) {
                Path parent = file.toAbsolutePath().getParent();
                Path beside = parent.getParent() == null ? null : parent.getParent().resolve("seccomp-profiles");
                profiles = beside != null && Files.isDirectory(beside) ? beside : Path.of("seccomp-profiles");
            }
            return new PolicyReader(profiles, file.toAbsolutePath().getParent());
        }
    }

    @Command(name = "lint", description = "Validate policy files exactly as the service does when it loads them; "
            + "lists every problem of every file. Exit 0 when all are valid, 1 otherwise.")
    static final class Lint implements Callable<Integer> {
        @Mixin
        ProfileDir profiles;

        @Parameters(paramLabel = "FILE", arity = "1..*")
        List<Path> files;

        @Override
        public Integer call() {
            int invalid = 0;
            for (Path file : files) {
                try {
                    Policy p = profiles.readerFor(file).read(file);
                    System.out.printf("%s: valid (policy %s, %s, runtime %s, seccomp %s, teams %s)%n", file, p.name(),
                            p.digest(), p.runtime().engineName(), p.seccomp().name(),
                            p.teams().isEmpty() ? "none" : String.join(",", p.teams()));
                    if (p.teams().isEmpty()) {
                        System.out.printf("  note: no 'teams': no team's jobs may use this policy%n");
                    }
                } catch (PolicyException e) {
                    invalid++;
                    System.out.printf("%s: INVALID, %d problem(s)%n", file, e.violations().size());
                    for (Violation v : e.violations()) {
                        System.out.printf("  - %s: %s%n", v.field(), v.reason());
                    }
                }
            }
            return invalid == 0 ? 0 : 1;
        }
    }

    @Command(name = "diff", description = "What changes from policy file BEFORE to AFTER, loosening first. Both must "
            + "be valid (each file's name field must match its file name). Exit 0 when nothing loosens, 3 when "
            + "something does, 1 when a file is invalid.")
    static final class Diff implements Callable<Integer> {
        @Mixin
        ProfileDir profiles;

        @Option(names = "--markdown", description = "print Markdown for sign-off instead of text")
        boolean markdown;

        @Parameters(index = "0", paramLabel = "BEFORE")
        Path before;

        @Parameters(index = "1", paramLabel = "AFTER")
        Path after;

        @Override
        public Integer call() {
            Policy a;
            Policy b;
            try {
                a = profiles.readerFor(before).read(before);
                b = profiles.readerFor(after).read(after);
            } catch (PolicyException e) {
                System.err.println("cloister: " + e.getMessage());
                return 1;
            }
            PolicyDiff diff = PolicyDiff.between(a, b);
            if (markdown) {
                System.out.print(diff.markdown());
            } else {
                print(diff, System.out);
            }
            return diff.loosening().isEmpty() ? 0 : 3;
        }

        static void print(PolicyDiff diff, PrintStream out) {
            long tightens = diff.changes().stream().filter(c -> c.direction() == PolicyDiff.Direction.TIGHTENS).count();
            out.printf("%s -> %s: %d loosening, %d neither, %d tightening%n", diff.from(), diff.to(),
                    diff.loosening().size(), diff.changes().size() - diff.loosening().size() - tightens, tightens);
            for (PolicyDiff.Change c : diff.changes()) {
                out.printf("  %-8s %-30s %s -> %s%n           %s%n", c.direction(), c.field(), c.from(), c.to(), c.why());
            }
        }
    }

    @Command(name = "report", description = "The service's report of a policy: effective settings, seccomp summary, "
            + "CIS results of its latest job, latest probe results. Markdown unless --json.")
    static final class Report implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Option(names = "--json", description = "print the report as JSON")
        boolean json;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            String path = "/api/v1/policies/" + name + "/report";
            if (json) {
                System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsString(server.client().get(path)));
            } else {
                System.out.print(server.client().getText(path, "text/markdown"));
            }
            return 0;
        }
    }

    @Command(name = "probe", description = "Run the escape and exfiltration suite as jobs under a policy and record "
            + "the results for its report. With --wait, follows the run and exits 1 if it found problems.")
    static final class Probe implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--image", required = true, paramLabel = "REF",
                description = "the probe image pinned by digest, e.g. cloister/probe@sha256:... (deploy/probes/build.sh)")
        String image;

        @Option(names = "--dataset", description = "dataset at /data (default: the first the policy allows)")
        String dataset;

        @Option(names = "--wait", description = "wait for the run to finish and print its results")
        boolean await;

        @Option(names = "--timeout", defaultValue = "20m", description = "how long --wait waits (default ${DEFAULT-VALUE})")
        String timeout;

        @Override
        public Integer call() throws Exception {
            ObjectMapper json = new ObjectMapper();
            var body = json.createObjectNode().put("image", image);
            if (dataset != null) {
                body.put("dataset", dataset);
            }
            ApiClient client = server.client();
            JsonNode run = client.post("/api/v1/policies/" + name + "/probes", "application/json",
                    json.writeValueAsBytes(body));
            String since = run.path("since").asText();
            System.out.printf("probe suite started under %s at %s (first job %s)%n", name, since,
                    run.path("currentJob").asText());
            if (!await) {
                return 0;
            }
            Instant deadline = Instant.now().plus(Duration.parse("PT" + timeout.toUpperCase(Locale.ROOT)));
            while (Instant.now().isBefore(deadline)) {
                Thread.sleep(2000);
                JsonNode report = client.get("/api/v1/policies/" + name + "/report");
                JsonNode evidence = report.path("probes");
                if (report.path("probeRunning").isNull() && !evidence.isMissingNode() && !evidence.isNull()) {
                    if (!Instant.parse(evidence.path("startedAt").asText()).equals(Instant.parse(since))) {
                        System.err.println("cloister: the run ended without recording results; see the service log");
                        return 1;
                    }
                    return printEvidence(evidence);
                }
                if (report.path("probeRunning").isNull()) {
                    System.err.println("cloister: the run ended without recording results; see the service log");
                    return 1;
                }
                System.out.printf("  running: job %s%n", report.path("probeRunning").path("currentJob").asText());
            }
            System.err.println("cloister: the run did not finish within " + timeout);
            return 1;
        }

        private static int printEvidence(JsonNode e) {
            for (JsonNode r : e.path("results")) {
                System.out.printf("  %-22s %-15s %s%n", r.path("probe").asText(), r.path("outcome").asText(),
                        r.path("detail").asText());
            }
            System.out.printf("%d probes, %d problem(s)%n", e.path("results").size(), e.path("problems").size());
            for (JsonNode p : e.path("problems")) {
                System.out.println("  PROBLEM " + p.asText());
            }
            return e.path("problems").isEmpty() ? 0 : 1;
        }
    }
}
