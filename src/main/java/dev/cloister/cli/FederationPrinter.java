package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Prints a federation's progress from successive API snapshots: each site's result and each round's outcome once,
 * as they appear, and each state after the rounds (sealing, evaluation, packaging); then the end state, the sealed
 * model and its serving image, and the held-out evaluation, saying which container computed it.
 */
final class FederationPrinter {

    private final PrintStream out;
    private final Set<String> printed = new HashSet<>();

    FederationPrinter(PrintStream out) {
        this.out = out;
    }

    void header(JsonNode f) {
        out.printf("federation %s (%s): %d site(s), %d round(s), %s, quorum %d, round deadline %s%n",
                f.path("id").asText(), f.path("name").asText(), f.path("sites").size(), f.path("plannedRounds").asInt(),
                f.path("aggregation").asText(), f.path("quorum").asInt(), f.path("roundDeadline").asText());
        for (JsonNode s : f.path("sites")) {
            out.printf("  site %-10s team %-12s dataset %-14s policy %s%n", s.path("name").asText(),
                    s.path("team").asText(), s.path("dataset").asText(), s.path("policy").asText());
        }
    }

    /** Prints what is new in this snapshot. */
    void progress(JsonNode f) {
        for (JsonNode r : f.path("rounds")) {
            int n = r.path("number").asInt();
            for (JsonNode s : r.path("sites")) {
                String state = s.path("state").asText();
                String key = n + "/" + s.path("site").asText() + "/" + state;
                if ((state.equals("ACCEPTED") || state.equals("EXCLUDED")) && printed.add(key)) {
                    if (state.equals("ACCEPTED")) {
                        out.printf("round %d  %-10s accepted  %d examples, update norm %.4f%s%s%n", n,
                                s.path("site").asText(), s.path("examples").asLong(), s.path("norm").asDouble(),
                                s.path("clipped").asBoolean() ? " (clipped)" : "", metrics(s.path("metrics")));
                    } else {
                        out.printf("round %d  %-10s EXCLUDED  %s%n", n, s.path("site").asText(),
                                s.path("reason").asText());
                    }
                }
            }
            String state = r.path("state").asText();
            if (!state.equals("RUNNING") && printed.add("round/" + n)) {
                if (state.equals("AGGREGATED")) {
                    out.printf("round %d  aggregated -> %s, record %s%n", n, r.path("outputDigest").asText(),
                            r.path("recordDigest").asText());
                } else {
                    out.printf("round %d  %s: %s (record %s)%n", n, state, r.path("reason").asText(),
                            r.path("recordDigest").asText());
                }
            }
        }
    }

    /** Prints the states after the rounds (EVALUATING, SEALED, PACKAGED) once each, with their reasons. */
    void state(JsonNode f) {
        String state = f.path("state").asText();
        if (AFTER_ROUNDS.contains(state) && printed.add("state/" + state)) {
            out.printf("%s: %s%n", state, f.path("reason").asText());
        }
    }

    private static final Set<String> AFTER_ROUNDS = Set.of("EVALUATING", "SEALED", "PACKAGED");

    private static String metrics(JsonNode m) {
        StringBuilder b = new StringBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().contains("accuracy")) {
                b.append(", site-reported ").append(e.getKey()).append(' ')
                        .append(String.format("%.4f", e.getValue().asDouble()));
            }
        }
        return b.toString();
    }

    void end(JsonNode f) {
        out.printf("%s: %s%n", f.path("state").asText(), f.path("reason").asText());
        if (!f.path("modelDigest").isMissingNode() && !f.path("modelDigest").isNull()) {
            out.printf("model %s, signed by key %s%n", f.path("modelDigest").asText(), f.path("keyId").asText());
        }
        JsonNode image = f.path("servingImage");
        if (!image.isMissingNode() && !image.isNull()) {
            out.printf("serving image %s%n  %s%n", image.asText(), f.path("state").asText().equals("PUBLISHED")
                    ? "signed with its provenance (cosign layout); check: cloister verify image " + image.asText()
                    + " --key host.pub.pem"
                    : "pushed, not signed");
        }
        JsonNode e = f.path("evaluation");
        if (e.isMissingNode() || e.isNull()) {
            return;
        }
        out.printf("held-out evaluation on '%s' (%s examples), computed by %s;%n  %s%n", e.path("dataset").asText(),
                e.path("examples").asText("?"), e.path("computedBy").asText(), e.path("solo").asText());
        if (e.has("error")) {
            out.printf("  evaluation failed: %s%n", e.path("error").asText());
        }
        JsonNode m = e.path("metrics");
        if (m.has("accuracy.global")) {
            out.printf("  %-22s accuracy %.4f%n", "global (federated)", m.path("accuracy.global").asDouble());
        }
        for (JsonNode s : f.path("sites")) {
            String key = "accuracy.solo-" + s.path("name").asText();
            if (m.has(key)) {
                out.printf("  %-22s accuracy %.4f%n", s.path("name").asText() + " alone", m.path(key).asDouble());
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = e.path("soloFailures").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> x = it.next();
            out.printf("  %-22s no solo model: %s%n", x.getKey() + " alone", x.getValue().asText());
        }
    }
}
