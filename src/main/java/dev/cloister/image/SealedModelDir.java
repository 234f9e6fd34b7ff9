package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.Provenance;
import dev.cloister.seal.SealException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A sealed model directory checked against the control plane's metadata before it goes into an image: the files
 * hash to the metadata's OMS root digest, and the training provenance names the same job (or federation), policy
 * and model. The
 * signatures themselves are the deployer's to verify (with the pinned key); here they are only required to exist.
 *
 * @param files every file of the model layer, relative POSIX paths in OMS path order, then the two seal files
 */
record SealedModelDir(Path root, List<String> files, Digest trainingProvenance,
                      List<ServingImage.Dataset> datasets) {

    static final List<String> SEAL_FILES = List.of(ModelSigner.SIGNATURE_FILE, JobSealer.PROVENANCE_FILE);
    private static final int MAX_PROVENANCE_BYTES = 32 * 1024 * 1024;

    SealedModelDir {
        files = List.copyOf(files);
        datasets = List.copyOf(datasets);
    }

    static SealedModelDir read(Path dir, ModelMetadata metadata) throws ImageException {
        Path root = dir.toAbsolutePath().normalize();
        List<String> problems = new ArrayList<>();
        for (String seal : SEAL_FILES) {
            if (!Files.isRegularFile(root.resolve(seal), LinkOption.NOFOLLOW_LINKS)) {
                problems.add("the model directory " + root + " is not sealed: " + seal + " is missing");
            }
        }
        if (!problems.isEmpty()) {
            throw new ImageException(problems);
        }
        ModelManifest manifest;
        try {
            manifest = ModelManifest.hash(root, SEAL_FILES);
        } catch (SealException e) {
            throw new ImageException(e.problems());
        }
        if (!manifest.rootDigest().equals(metadata.modelDigest())) {
            problems.add("the model files hash to " + manifest.rootDigest() + ", not the sealed model digest "
                    + metadata.modelDigest() + ": the directory changed after sealing, or belongs to another model");
        }
        byte[] bundle = readCapped(root.resolve(JobSealer.PROVENANCE_FILE));
        List<ServingImage.Dataset> datasets = checkProvenance(bundle, metadata, problems);
        if (!problems.isEmpty()) {
            throw new ImageException(problems);
        }
        List<String> files = new ArrayList<>(manifest.resources().stream().map(ModelManifest.Resource::name).toList());
        files.addAll(SEAL_FILES);
        return new SealedModelDir(root, files, Digest.of(bundle), datasets);
    }

    /** Checks the training provenance statement (read, not verified) against the metadata; yields its data sets. */
    private static List<ServingImage.Dataset> checkProvenance(byte[] bundle, ModelMetadata metadata,
                                                                  List<String> problems) {
        String file = JobSealer.PROVENANCE_FILE;
        ObjectNode json = Json.readObject(bundle);
        String payload = json == null ? "" : json.path("dsseEnvelope").path("payload").asText("");
        ObjectNode statement;
        try {
            statement = Json.readObject(Base64.getDecoder().decode(payload));
        } catch (IllegalArgumentException e) {
            statement = null;
        }
        if (statement == null) {
            problems.add(file + " is not a Sigstore bundle holding a DSSE-signed statement");
            return List.of();
        }
        if (!Provenance.PREDICATE_TYPE.equals(statement.path("predicateType").asText())) {
            problems.add(file + " does not hold SLSA provenance (" + Provenance.PREDICATE_TYPE + ")");
        }
        JsonNode predicate = statement.path("predicate");
        String invocation = predicate.path("runDetails").path("metadata").path("invocationId").asText("");
        if (!invocation.equals(metadata.origin().id())) {
            problems.add(file + " is the provenance of '" + invocation + "', not of " + metadata.origin());
        }
        JsonNode build = predicate.path("buildDefinition");
        String policy = build.path("internalParameters").path("policy").path("name").asText("");
        if (!policy.equals(metadata.policy())) {
            problems.add(file + " says the model was trained under policy '" + policy + "', not '"
                    + metadata.policy() + "'");
        }
        boolean modelNamed = false;
        for (JsonNode subject : statement.path("subject")) {
            modelNamed |= metadata.modelDigest().hex().equals(subject.path("digest").path("sha256").asText());
        }
        if (!modelNamed) {
            problems.add(file + " does not name the model digest " + metadata.modelDigest() + " as a subject");
        }
        List<ServingImage.Dataset> datasets = new ArrayList<>();
        for (JsonNode dependency : build.path("resolvedDependencies")) {
            String uri = dependency.path("uri").asText("");
            if (uri.startsWith(Provenance.DATASET_URI_PREFIX)) {
                try {
                    datasets.add(new ServingImage.Dataset(uri.substring(Provenance.DATASET_URI_PREFIX.length()),
                            new Digest(dependency.path("digest").path("sha256").asText(""))));
                } catch (IllegalArgumentException e) {
                    problems.add(file + " names the data set with a malformed digest");
                }
            }
        }
        return datasets;
    }

    private static byte[] readCapped(Path file) throws ImageException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] content = in.readNBytes(MAX_PROVENANCE_BYTES + 1);
            if (content.length > MAX_PROVENANCE_BYTES) {
                throw new ImageException(file.getFileName() + " is larger than " + MAX_PROVENANCE_BYTES + " bytes");
            }
            return content;
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
