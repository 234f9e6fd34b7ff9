package dev.cloister.seal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

/**
 * The in-toto Statement v1 of one federated round, signed as a DSSE envelope in a key-based Sigstore bundle like
 * every other Cloister statement. Its subject is the round's output weights (the input, when the round failed);
 * the predicate names the input, each accepted update with its site, the excluded sites with reasons, the rule,
 * and the previous record's digest, which chains the rounds.
 */
public final class RoundStatement {

    public static final String PREDICATE_TYPE = "https://cloister.dev/federation/round/v1";
    public static final String OUTCOME_AGGREGATED = "aggregated";
    public static final String OUTCOME_FAILED = "failed";

    private static final ObjectMapper JSON = new ObjectMapper();

    private RoundStatement() {
    }

    /** File name of round {@code n}'s record: {@code round-0001.sigstore.json}. */
    public static String fileName(int round) {
        return String.format("round-%04d.sigstore.json", round);
    }

    /** File name of the global weights after {@code round} rounds: {@code global-0000.npz} is the first input. */
    public static String globalName(int round) {
        return String.format("global-%04d.npz", round);
    }

    public static byte[] toJson(RoundFacts f) {
        ObjectNode root = JSON.createObjectNode();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ArrayNode subjects = root.putArray("subject");
        ObjectNode subject = subjects.addObject();
        subject.put("name", f.output() == null ? f.inputName() : f.outputName());
        subject.putObject("digest").put("sha256", (f.output() == null ? f.input() : f.output()).hex());
        root.put("predicateType", PREDICATE_TYPE);
        ObjectNode p = root.putObject("predicate");
        ObjectNode fed = p.putObject("federation");
        fed.put("id", f.federationId());
        fed.put("name", f.federationName());
        fed.put("specDigest", f.specDigest().toString());
        p.put("round", f.round());
        p.put("rounds", f.rounds());
        if (f.previousRecord() == null) {
            p.putNull("previousRecord");
        } else {
            p.putObject("previousRecord").put("sha256", f.previousRecord().hex());
        }
        named(p.putObject("input"), f.inputName(), f.input());
        ObjectNode rule = p.putObject("aggregation");
        rule.put("rule", f.aggregation());
        if (f.clipNorm() == null) {
            rule.putNull("clipNorm");
        } else {
            rule.put("clipNorm", f.clipNorm());
        }
        p.put("quorum", f.quorum());
        ArrayNode accepted = p.putArray("accepted");
        for (RoundFacts.Accepted a : f.accepted()) {
            ObjectNode n = accepted.addObject();
            n.put("site", a.site());
            n.put("team", a.team());
            n.put("dataset", a.dataset());
            n.put("datasetDigest", a.datasetDigest().toString());
            n.put("policy", a.policy());
            n.put("policyDigest", a.policyDigest().toString());
            n.putObject("update").put("sha256", a.update().hex());
            n.put("examples", a.examples());
            n.put("norm", a.norm());
            n.put("clipped", a.clipped());
        }
        ArrayNode excluded = p.putArray("excluded");
        for (RoundFacts.Excluded e : f.excluded()) {
            excluded.addObject().put("site", e.site()).put("team", e.team()).put("reason", e.reason());
        }
        p.put("outcome", f.output() == null ? OUTCOME_FAILED : OUTCOME_AGGREGATED);
        if (f.output() == null) {
            p.putNull("output");
            p.put("reason", f.reason());
        } else {
            named(p.putObject("output"), f.outputName(), f.output());
            p.putNull("reason");
        }
        ObjectNode image = p.putObject("image");
        image.put("repository", f.imageRepository());
        image.put("digest", f.imageDigest().toString());
        p.putObject("builder").put("id", f.builderId());
        p.put("startedOn", f.startedOn().toString());
        p.put("finishedOn", f.finishedOn().toString());
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("round statement cannot be serialised", e);
        }
    }

    private static void named(ObjectNode n, String name, Digest digest) {
        n.put("name", name);
        n.putObject("digest").put("sha256", digest.hex());
    }
}
