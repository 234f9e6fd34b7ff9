package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.seal.ReproductionStatement;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifies a reproducibility attestation against a model already verified: the signature with the pinned key, that
 * its subject is this model (name and root digest), and that the re-run reproduced it: verdict REPRODUCED and every
 * one of the model's files listed as matching. Throws with every reason (each differing file named).
 */
public final class ReproductionVerifier {

    /** What a verified attestation says. */
    public record VerifiedReproduction(String originalJob, String rerunJob, int files, String comparedOn) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ModelVerifier bundles;

    public ReproductionVerifier(ModelVerifier bundles) {
        this.bundles = bundles;
    }

    public VerifiedReproduction verify(byte[] bundle, String publicKeyPem, VerifiedModel model)
            throws VerificationException {
        JsonNode statement;
        try {
            statement = JSON.readTree(bundles.verifyStatementBundle(bundle, publicKeyPem,
                    ReproductionStatement.PREDICATE_TYPE));
        } catch (IOException e) {
            throw new VerificationException("the reproduction statement is not JSON");
        }
        List<String> reasons = new ArrayList<>();
        JsonNode subjects = statement.path("subject");
        JsonNode subject = subjects.size() == 1 ? subjects.get(0) : null;
        if (subject == null || !model.subjectName().equals(subject.path("name").asText())
                || !model.rootDigest().hex().equals(subject.path("digest").path("sha256").asText())) {
            reasons.add("the reproduction attestation is about another model, not " + model.subjectName() + " "
                    + model.rootDigest());
        }
        JsonNode p = statement.path("predicate");
        int matching = 0;
        for (JsonNode f : p.path("files")) {
            if (f.path("match").asBoolean(false)) {
                matching++;
            } else {
                reasons.add("not reproduced: " + f.path("path").asText() + " differs (original "
                        + text(f.path("original")) + ", re-run " + text(f.path("rerun")) + ")");
            }
        }
        if (!ReproductionStatement.REPRODUCED.equals(p.path("verdict").asText())) {
            JsonNode rerun = p.path("rerun");
            reasons.add("verdict " + p.path("verdict").asText("missing") + ": re-run " + rerun.path("jobId").asText()
                    + " ended " + rerun.path("state").asText() + (rerun.hasNonNull("reason")
                    ? " (" + rerun.path("reason").asText() + ")" : ""));
        } else if (matching != model.fileCount()) {
            reasons.add("the attestation lists " + matching + " matching file(s); the model has " + model.fileCount());
        }
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        return new VerifiedReproduction(p.path("original").path("jobId").asText(), p.path("rerun").path("jobId").asText(),
                matching, p.path("comparedOn").asText());
    }

    private static String text(JsonNode n) {
        return n.isNull() || n.isMissingNode() ? "missing" : n.asText();
    }
}
