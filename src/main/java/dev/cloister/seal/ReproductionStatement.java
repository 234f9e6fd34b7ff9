package dev.cloister.seal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The in-toto statement that a sealed job was re-run and whether its outputs came out the same, file by file. The
 * subject is the original model (its OMS subject name and root digest), so the attestation attaches to exactly
 * that model; the predicate names both jobs, the inputs both ran with, and each file's digest in each run.
 */
public final class ReproductionStatement {

    public static final String PREDICATE_TYPE = "https://cloister.dev/reproducibility/v1";
    public static final String REPRODUCED = "REPRODUCED";
    public static final String NOT_REPRODUCED = "NOT_REPRODUCED";

    /** One file: its digest in the original and in the re-run (null where it is missing). */
    public record FileResult(String path, Digest original, Digest rerun) {
        public boolean matches() {
            return original != null && original.equals(rerun);
        }
    }

    /** A sealed run: job id, model root digest (null when the re-run did not seal), how it ended. */
    public record Run(String jobId, Digest modelDigest, String state, String reason) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private ReproductionStatement() {
    }

    /** Every file of either manifest, in path order, with its digest on each side. */
    public static List<FileResult> compare(ModelManifest original, ModelManifest rerun) {
        Map<String, Digest> again = new LinkedHashMap<>();
        if (rerun != null) {
            rerun.resources().forEach(r -> again.put(r.name(), r.digest()));
        }
        List<FileResult> files = new ArrayList<>();
        for (ModelManifest.Resource r : original.resources()) {
            files.add(new FileResult(r.name(), r.digest(), again.remove(r.name())));
        }
        again.forEach((name, digest) -> files.add(new FileResult(name, null, digest)));
        files.sort((a, b) -> PathOrder.INSTANCE.compare(a.path(), b.path()));
        return files;
    }

    /**
     * @param modelName the original model's OMS subject name (its directory's name)
     * @param inputs    what both runs were admitted with: image, dataset and policy digests, seed, command
     */
    public static byte[] statement(String modelName, Run original, Run rerun, Map<String, Object> inputs,
                                   List<FileResult> files, String builderId, Instant comparedOn) {
        boolean reproduced = rerun.modelDigest() != null && !files.isEmpty()
                && files.stream().allMatch(FileResult::matches);
        ObjectNode root = JSON.createObjectNode();
        root.put("_type", OmsStatement.STATEMENT_TYPE);
        ObjectNode subject = root.putArray("subject").addObject();
        subject.put("name", modelName);
        subject.putObject("digest").put("sha256", original.modelDigest().hex());
        root.put("predicateType", PREDICATE_TYPE);
        ObjectNode predicate = root.putObject("predicate");
        predicate.put("verdict", reproduced ? REPRODUCED : NOT_REPRODUCED);
        run(predicate.putObject("original"), original);
        run(predicate.putObject("rerun"), rerun);
        predicate.set("inputs", JSON.valueToTree(inputs));
        ArrayNode list = predicate.putArray("files");
        List<String> differing = new ArrayList<>();
        for (FileResult f : files) {
            ObjectNode n = list.addObject();
            n.put("path", f.path());
            if (f.original() == null) {
                n.putNull("original");
            } else {
                n.put("original", f.original().toString());
            }
            if (f.rerun() == null) {
                n.putNull("rerun");
            } else {
                n.put("rerun", f.rerun().toString());
            }
            n.put("match", f.matches());
            if (!f.matches()) {
                differing.add(f.path());
            }
        }
        ArrayNode diff = predicate.putArray("differing");
        differing.forEach(diff::add);
        predicate.put("builder", builderId);
        predicate.put("comparedOn", comparedOn.toString());
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("reproduction statement cannot be serialised", e);
        }
    }

    private static void run(ObjectNode node, Run run) {
        node.put("jobId", run.jobId());
        if (run.modelDigest() == null) {
            node.putNull("modelDigest");
        } else {
            node.put("modelDigest", run.modelDigest().toString());
        }
        node.put("state", run.state());
        if (run.reason() != null) {
            node.put("reason", run.reason());
        }
    }
}
