package dev.cloister.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.Provenance;
import dev.cloister.seal.SealException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Verifies a sealed job directory offline, for the CLI and the API alike: the OMS model signature, then (when given)
 * the signed SLSA provenance, that its subjects are exactly the files on disk, and the deployer's claims. Throws
 * with every reason; returns only when everything holds.
 */
public final class SealVerifier {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ModelVerifier models;

    public SealVerifier(ModelVerifier models) {
        this.models = models;
    }

    /**
     * @param provenance the signed provenance bundle; when it lies inside {@code dir} it is left out of the model hash
     */
    public SealReport verify(Path dir, String publicKeyPem, Optional<Path> provenance, ReleaseClaims claims,
                             List<String> ignorePaths) throws VerificationException {
        List<String> ignore = new ArrayList<>(ignorePaths);
        // The reproducibility attestation is attached after sealing, beside the seal; it is checked on request
        // (ReproductionVerifier), never hashed as a model file.
        if (Files.isRegularFile(dir.resolve(JobSealer.REPRODUCTION_FILE), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            ignore.add(JobSealer.REPRODUCTION_FILE);
        }
        provenance.map(p -> p.toAbsolutePath().normalize())
                .filter(p -> p.getParent() != null && p.getParent().equals(dir.toAbsolutePath().normalize()))
                .ifPresent(p -> ignore.add(p.getFileName().toString()));
        VerifiedModel model = models.verify(dir, publicKeyPem, ignore.toArray(String[]::new));
        if (provenance.isEmpty()) {
            if (claims.policy().isPresent() || claims.datasetDigest().isPresent() || claims.imageDigest().isPresent()) {
                throw new VerificationException("claims (--policy, --dataset-digest, --image-digest) need the provenance");
            }
            return new SealReport(model, Optional.empty());
        }
        byte[] bundle;
        try {
            bundle = Files.readAllBytes(provenance.get());
        } catch (IOException e) {
            throw new VerificationException("provenance " + provenance.get() + " cannot be read: " + e.getMessage());
        }
        JsonNode statement;
        try {
            statement = JSON.readTree(models.verifyStatementBundle(bundle, publicKeyPem, Provenance.PREDICATE_TYPE));
        } catch (IOException e) {
            throw new VerificationException("provenance statement is not JSON");
        }
        List<String> reasons = new ArrayList<>();
        checkSubjects(dir, ignore, model, statement, reasons);
        VerifiedProvenance facts = facts(statement);
        claims.policy().filter(p -> !p.equals(facts.policy())).ifPresent(p ->
                reasons.add("policy is '" + facts.policy() + "', not the required '" + p + "'"));
        claims.datasetDigest().filter(d -> !d.toString().equals(facts.datasetDigest())).ifPresent(d ->
                reasons.add("dataset digest is " + facts.datasetDigest() + ", not the required " + d));
        claims.imageDigest().filter(d -> !d.toString().equals(facts.imageDigest())).ifPresent(d ->
                reasons.add("training image digest is " + facts.imageDigest() + ", not the required " + d));
        if (!reasons.isEmpty()) {
            throw new VerificationException(reasons);
        }
        return new SealReport(model, Optional.of(facts));
    }

    // The provenance must describe exactly these files: same names, same digests, plus the OMS root digest.
    private void checkSubjects(Path dir, List<String> ignore, VerifiedModel model, JsonNode statement,
                               List<String> reasons) throws VerificationException {
        ModelManifest manifest;
        try {
            List<String> all = new ArrayList<>(ignore);
            all.add(dev.cloister.seal.ModelSigner.SIGNATURE_FILE);
            manifest = ModelManifest.hash(dir, all);
        } catch (SealException e) {
            throw new VerificationException(e.problems());
        }
        Map<String, String> onDisk = new HashMap<>();
        manifest.resources().forEach(r -> onDisk.put(r.name(), r.digest().hex()));
        Map<String, String> claimed = new HashMap<>();
        boolean rootSeen = false;
        for (JsonNode s : statement.path("subject")) {
            String name = s.path("name").asText();
            String sha = s.path("digest").path("sha256").asText();
            if (name.equals(manifest.name()) && sha.equals(model.rootDigest().hex()) && !onDisk.containsKey(name)) {
                rootSeen = true;
            } else {
                claimed.put(name, sha);
            }
        }
        if (!rootSeen) {
            reasons.add("provenance does not name the model's root digest " + model.rootDigest());
        }
        for (var e : onDisk.entrySet()) {
            String sha = claimed.get(e.getKey());
            if (sha == null) {
                reasons.add("provenance does not list file " + e.getKey());
            } else if (!sha.equals(e.getValue())) {
                reasons.add("provenance digest of " + e.getKey() + " does not match the file");
            }
        }
        claimed.keySet().stream().filter(n -> !onDisk.containsKey(n)).sorted()
                .forEach(n -> reasons.add("provenance lists " + n + ", which is not in the directory"));
    }

    private static VerifiedProvenance facts(JsonNode statement) {
        JsonNode predicate = statement.path("predicate");
        JsonNode internal = predicate.path("buildDefinition").path("internalParameters");
        String image = null, imageDigest = null, dataset = null, datasetDigest = null;
        for (JsonNode d : predicate.path("buildDefinition").path("resolvedDependencies")) {
            String uri = d.path("uri").asText();
            String digest = "sha256:" + d.path("digest").path("sha256").asText();
            if (uri.startsWith(Provenance.IMAGE_URI_PREFIX)) {
                image = uri.substring(Provenance.IMAGE_URI_PREFIX.length());
                imageDigest = digest;
            } else if (uri.startsWith(Provenance.DATASET_URI_PREFIX)) {
                dataset = uri.substring(Provenance.DATASET_URI_PREFIX.length());
                datasetDigest = digest;
            }
        }
        JsonNode meta = predicate.path("runDetails").path("metadata");
        return new VerifiedProvenance(meta.path("invocationId").asText(null),
                predicate.path("runDetails").path("builder").path("id").asText(null),
                internal.path("policy").path("name").asText(null), internal.path("policy").path("digest").asText(null),
                internal.path("runtime").asText(null), image, imageDigest, dataset, datasetDigest,
                instant(meta.path("startedOn")), instant(meta.path("finishedOn")), statement.path("subject").size());
    }

    private static Instant instant(JsonNode n) {
        try {
            return n.isTextual() ? Instant.parse(n.asText()) : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The conventional provenance file of a directory sealed by Cloister, if it is there. */
    public static Optional<Path> defaultProvenance(Path dir) {
        Path p = dir.resolve(JobSealer.PROVENANCE_FILE);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

}
