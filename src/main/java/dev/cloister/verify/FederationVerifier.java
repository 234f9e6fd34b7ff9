package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.digest.Digest;
import dev.cloister.seal.FederationProvenance;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.Provenance;
import dev.cloister.seal.RoundStatement;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Verifies a federation directory offline with a pinned public key: {@code rounds/round-NNNN.sigstore.json} (each a
 * signed round record), {@code model/} (the sealed final weights) and, when present, {@code globals/}. Checks every
 * record's signature and statement, that the records are numbered 1..N with nothing missing, that each names the
 * digest of the record before it, that each round's input is the previous round's output, that every round but a
 * final failed one aggregated a quorum, that the final model's weights are the last output, and that the model's
 * seal verifies and its provenance lists exactly these records in order. Throws with every reason found.
 */
public final class FederationVerifier {

    public static final String ROUNDS_DIR = "rounds";
    public static final String MODEL_DIR = "model";
    public static final String GLOBALS_DIR = "globals";
    static final String MODEL_FILE = "global.npz";
    private static final int MAX_RECORD_BYTES = 4 * 1024 * 1024;
    private static final Pattern RECORD = Pattern.compile("round-(\\d{4})\\.sigstore\\.json");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ModelVerifier models;

    public FederationVerifier(ModelVerifier models) {
        this.models = models;
    }

    public VerifiedFederation verify(Path dir, String publicKeyPem) throws VerificationException {
        List<String> reasons = new ArrayList<>();
        TreeMap<Integer, Path> files = recordFiles(dir.resolve(ROUNDS_DIR), reasons);
        List<VerifiedFederation.Round> rounds = new ArrayList<>();
        String federationId = null;
        String name = null;
        int planned = -1;
        Digest previousRecord = null;
        Digest previousOutput = null;
        Digest initial = null;
        JsonNode last = null;
        List<Digest> recordDigests = new ArrayList<>();
        int expected = 1;
        for (var e : files.entrySet()) {
            int n = e.getKey();
            String file = e.getValue().getFileName().toString();
            if (n != expected) {
                reasons.add("round record " + RoundStatement.fileName(expected) + " is missing (the chain jumps to "
                        + file + ")");
                expected = n;
            }
            expected++;
            byte[] bytes = read(e.getValue(), reasons);
            if (bytes == null) {
                continue;
            }
            Digest recordDigest = Digest.of(bytes);
            recordDigests.add(recordDigest);
            JsonNode statement;
            try {
                statement = JSON.readTree(models.verifyStatementBundle(bytes, publicKeyPem,
                        RoundStatement.PREDICATE_TYPE));
            } catch (VerificationException | IOException ex) {
                List<String> why = ex instanceof VerificationException v ? v.reasons() : List.of("not JSON");
                why.forEach(r -> reasons.add(file + ": " + r));
                previousRecord = recordDigest;
                previousOutput = null;
                continue;
            }
            JsonNode p = statement.path("predicate");
            String at = file + ": ";
            int round = p.path("round").asInt(-1);
            if (round != n) {
                reasons.add(at + "the signed record is for round " + round + ", not round " + n
                        + " (records reordered or renamed)");
            }
            String fid = p.path("federation").path("id").asText("");
            if (federationId == null) {
                federationId = fid;
                name = p.path("federation").path("name").asText("");
                planned = p.path("rounds").asInt(-1);
            } else if (!federationId.equals(fid)) {
                reasons.add(at + "belongs to federation " + fid + ", not " + federationId);
            }
            JsonNode prev = p.path("previousRecord");
            if (n == 1) {
                if (!prev.isNull()) {
                    reasons.add(at + "round 1 must name no previous record");
                }
            } else if (previousRecord == null || !previousRecord.hex().equals(prev.path("sha256").asText())) {
                reasons.add(at + "does not link to the record of round " + (n - 1)
                        + " (its previousRecord is not that record's digest)");
            }
            Digest input = digest(p.path("input").path("digest"), at + "input", reasons);
            if (n == 1) {
                initial = input;
                if (!RoundStatement.globalName(0).equals(p.path("input").path("name").asText())) {
                    reasons.add(at + "round 1's input is not " + RoundStatement.globalName(0));
                }
            } else if (previousOutput != null && input != null && !previousOutput.equals(input)) {
                reasons.add(at + "its input " + input + " is not round " + (n - 1) + "'s output " + previousOutput);
            }
            String outcome = p.path("outcome").asText("");
            Digest output = null;
            JsonNode subject = statement.path("subject");
            String subjectHex = subject.isArray() && subject.size() == 1
                    ? subject.get(0).path("digest").path("sha256").asText("") : "";
            List<String> accepted = new ArrayList<>();
            for (JsonNode a : p.path("accepted")) {
                accepted.add(a.path("site").asText() + " " + a.path("update").path("sha256").asText());
            }
            List<String> excluded = new ArrayList<>();
            for (JsonNode x : p.path("excluded")) {
                excluded.add(x.path("site").asText() + ": " + x.path("reason").asText());
            }
            if (RoundStatement.OUTCOME_AGGREGATED.equals(outcome)) {
                output = digest(p.path("output").path("digest"), at + "output", reasons);
                if (output != null && !output.hex().equals(subjectHex)) {
                    reasons.add(at + "the statement's subject is not the round's output");
                }
                if (accepted.size() < p.path("quorum").asInt(Integer.MAX_VALUE)) {
                    reasons.add(at + "aggregated " + accepted.size() + " update(s), below its quorum of "
                            + p.path("quorum").asInt());
                }
                if (!RoundStatement.globalName(n).equals(p.path("output").path("name").asText())) {
                    reasons.add(at + "its output is not named " + RoundStatement.globalName(n));
                }
            } else if (RoundStatement.OUTCOME_FAILED.equals(outcome)) {
                if (n != files.lastKey()) {
                    reasons.add(at + "round failed, yet later records follow it");
                }
            } else {
                reasons.add(at + "outcome '" + outcome + "' is neither aggregated nor failed");
            }
            rounds.add(new VerifiedFederation.Round(n, recordDigest, input, output, accepted, excluded));
            previousRecord = recordDigest;
            previousOutput = output;
            last = p;
        }
        checkGlobals(dir.resolve(GLOBALS_DIR), rounds, reasons);
        SealReport seal = null;
        if (last != null) {
            if (!RoundStatement.OUTCOME_AGGREGATED.equals(last.path("outcome").asText())) {
                reasons.add("the federation did not finish: round " + last.path("round").asInt() + " failed: "
                        + last.path("reason").asText());
            } else if (files.size() != planned) {
                reasons.add("the federation did not finish: " + files.size() + " of " + planned
                        + " round record(s)");
            } else {
                seal = checkModel(dir.resolve(MODEL_DIR), publicKeyPem, federationId, previousOutput, initial,
                        files, recordDigests, reasons);
            }
        }
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        return new VerifiedFederation(federationId, name, rounds, initial, previousOutput, seal);
    }

    private static TreeMap<Integer, Path> recordFiles(Path dir, List<String> reasons) throws VerificationException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new VerificationException("no " + ROUNDS_DIR + "/ directory of round records in the federation "
                    + "directory");
        }
        TreeMap<Integer, Path> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : list.sorted().toList()) {
                Matcher m = RECORD.matcher(p.getFileName().toString());
                if (!m.matches() || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    reasons.add(ROUNDS_DIR + "/" + p.getFileName() + " is not a round record file");
                    continue;
                }
                files.put(Integer.parseInt(m.group(1)), p);
            }
        } catch (IOException e) {
            throw new VerificationException("the round records cannot be listed: " + e.getMessage(), e);
        }
        if (files.isEmpty()) {
            throw new VerificationException("no round records in " + ROUNDS_DIR + "/");
        }
        return files;
    }

    private static void checkGlobals(Path dir, List<VerifiedFederation.Round> rounds, List<String> reasons) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return; // optional: the records name every digest; the files are a convenience
        }
        for (VerifiedFederation.Round r : rounds) {
            check(dir.resolve(RoundStatement.globalName(r.number() - 1)), r.input(), reasons);
            if (r.output() != null) {
                check(dir.resolve(RoundStatement.globalName(r.number())), r.output(), reasons);
            }
        }
    }

    private static void check(Path file, Digest expected, List<String> reasons) {
        if (expected == null || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Digest actual = Digest.of(Files.readAllBytes(file));
            if (!actual.equals(expected)) {
                reasons.add(GLOBALS_DIR + "/" + file.getFileName() + " is " + actual + ", the records say " + expected);
            }
        } catch (IOException e) {
            reasons.add(GLOBALS_DIR + "/" + file.getFileName() + " cannot be read");
        }
    }

    private SealReport checkModel(Path model, String pem, String federationId, Digest lastOutput, Digest initial,
                                  TreeMap<Integer, Path> files, List<Digest> recordDigests, List<String> reasons) {
        SealReport report;
        Path provenance = model.resolve(JobSealer.PROVENANCE_FILE);
        try {
            report = new SealVerifier(models).verify(model, pem, Optional.of(provenance),
                    ReleaseClaims.NONE, List.of());
        } catch (VerificationException e) {
            e.reasons().forEach(r -> reasons.add(MODEL_DIR + "/: " + r));
            return null;
        }
        try {
            Digest weights = Digest.of(Files.readAllBytes(model.resolve(MODEL_FILE)));
            if (!weights.equals(lastOutput)) {
                reasons.add(MODEL_DIR + "/" + MODEL_FILE + " is " + weights + ", not the last round's output "
                        + lastOutput);
            }
        } catch (IOException e) {
            reasons.add(MODEL_DIR + "/" + MODEL_FILE + " is missing or unreadable");
        }
        JsonNode statement;
        try {
            statement = JSON.readTree(models.verifyStatementBundle(Files.readAllBytes(provenance), pem,
                    Provenance.PREDICATE_TYPE));
        } catch (VerificationException | IOException e) {
            reasons.add(MODEL_DIR + "/" + JobSealer.PROVENANCE_FILE + " cannot be read again");
            return report;
        }
        JsonNode build = statement.path("predicate").path("buildDefinition");
        if (!FederationProvenance.BUILD_TYPE.equals(build.path("buildType").asText())) {
            reasons.add("the model's provenance is not a federation's (buildType " + build.path("buildType").asText()
                    + ")");
        }
        List<String> listed = new ArrayList<>();
        String initialListed = null;
        String prefix = FederationProvenance.ROUND_URI_PREFIX + federationId + "/";
        for (JsonNode d : build.path("resolvedDependencies")) {
            String uri = d.path("uri").asText();
            if (uri.startsWith(prefix)) {
                listed.add(uri.substring(prefix.length()) + " " + d.path("digest").path("sha256").asText());
            } else if (uri.equals(FederationProvenance.INITIAL_URI_PREFIX + federationId)) {
                initialListed = d.path("digest").path("sha256").asText();
            }
        }
        List<String> expected = new ArrayList<>();
        int i = 0;
        for (var e : files.entrySet()) {
            expected.add(e.getValue().getFileName() + " " + recordDigests.get(i++).hex());
        }
        if (!listed.equals(expected)) {
            reasons.add("the model's provenance does not list exactly these round records in order (it lists "
                    + listed.size() + ", the directory has " + expected.size()
                    + (listed.size() == expected.size() ? ", with other digests or order" : "") + ")");
        }
        if (initial != null && !initial.hex().equals(initialListed)) {
            reasons.add("the model's provenance names another initial global than round 1's input");
        }
        return report;
    }

    private static byte[] read(Path file, List<String> reasons) {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] b = in.readNBytes(MAX_RECORD_BYTES + 1);
            if (b.length > MAX_RECORD_BYTES) {
                reasons.add(file.getFileName() + " is larger than " + MAX_RECORD_BYTES + " bytes");
                return null;
            }
            return b;
        } catch (IOException e) {
            reasons.add(file.getFileName() + " cannot be read");
            return null;
        }
    }

    private static Digest digest(JsonNode node, String what, List<String> reasons) {
        try {
            return new Digest(node.path("sha256").asText(""));
        } catch (IllegalArgumentException e) {
            reasons.add(what + " digest is not a SHA-256");
            return null;
        }
    }
}
