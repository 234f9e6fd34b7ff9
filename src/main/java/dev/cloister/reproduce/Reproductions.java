package dev.cloister.reproduce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.files.AtomicFiles;
import dev.cloister.job.Job;
import dev.cloister.job.JobId;
import dev.cloister.job.JobService;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.job.ReproductionListener;
import dev.cloister.job.SealCheck;
import dev.cloister.keys.Signer;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.sandbox.SandboxRuntime;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.ReproductionStatement;
import dev.cloister.seal.SealException;
import dev.cloister.verify.VerificationException;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Re-runs sealed jobs with exactly what their signed provenance records, and judges the re-run: its sealed files
 * against the original's, file by file, in a signed in-toto attestation stored beside the original's seal
 * ({@link JobSealer#REPRODUCTION_FILE}). A re-run whose inputs changed since (policy file, dataset content, image
 * gone) is refused with what changed.
 */
public final class Reproductions implements ReproductionListener {

    private static final Logger LOG = Logger.getLogger(Reproductions.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SEAL_FILES = List.of(ModelSigner.SIGNATURE_FILE, JobSealer.PROVENANCE_FILE,
            JobSealer.REPRODUCTION_FILE);

    private final JobService jobs;
    private final Policies policies;
    private final DatasetRegistry datasets;
    private final SandboxRuntime runtime;
    private final SealCheck sealCheck;
    private final Supplier<Signer> signers;
    private final AuditLog audit;
    private final String builderId;
    private final Clock clock;

    public Reproductions(JobService jobs, Policies policies, DatasetRegistry datasets, SandboxRuntime runtime,
                         SealCheck sealCheck, Supplier<Signer> signers, AuditLog audit, String builderId, Clock clock) {
        this.jobs = jobs;
        this.policies = policies;
        this.datasets = datasets;
        this.runtime = runtime;
        this.sealCheck = sealCheck;
        this.signers = signers;
        this.audit = audit;
        this.builderId = builderId;
        this.clock = clock;
    }

    /**
     * Starts a re-run of sealed job {@code id}; returns the new job, or empty when there is no such job. Throws
     * {@link ReproductionRefusedException} naming every input that changed, or why the job cannot be re-run.
     */
    public Optional<Job> start(JobId id, String actor) throws ReproductionRefusedException, SandboxException {
        Optional<Job> found = jobs.find(id);
        if (found.isEmpty()) {
            return found;
        }
        Job original = found.get();
        try {
            RecordedInputs recorded = verifiedInputs(original);
            List<Violation> changed = InputCheck.changes(recorded, policies, datasets, runtime::resolve);
            if (!changed.isEmpty()) {
                throw new ReproductionRefusedException("the inputs job " + id + " recorded have changed since: "
                        + changed.size() + " change(s); see violations", changed);
            }
            Job rerun = jobs.resubmit(recorded.spec().getBytes(StandardCharsets.UTF_8), id, actor);
            audit.record(actor, "job.reproduce", id.value(), "started", Map.of("rerun", rerun.id().value(),
                    "image", recorded.image().toString(), "policyDigest", recorded.policyDigest().toString(),
                    "datasetDigest", String.valueOf(recorded.datasetDigest())));
            return Optional.of(rerun);
        } catch (ReproductionRefusedException e) {
            audit.record(actor, "job.reproduce", id.value(), "refused", Map.of("reason", e.getMessage(),
                    "violations", e.violations().stream().map(Violation::toString).toList()));
            throw e;
        } catch (MalformedSpecException | AdmissionException e) {
            // The recorded spec was admitted once; a refusal now means the policy or registry changed under it.
            List<Violation> why = e instanceof AdmissionException a ? a.violations()
                    : List.of(new Violation("spec", e.getMessage()));
            ReproductionRefusedException refused = new ReproductionRefusedException("the recorded spec is no longer"
                    + " admitted", why);
            audit.record(actor, "job.reproduce", id.value(), "refused", Map.of("reason", refused.getMessage(),
                    "violations", why.stream().map(Violation::toString).toList()));
            throw refused;
        }
    }

    // The seal must still verify; the inputs are read from its signed provenance, not from the database.
    private RecordedInputs verifiedInputs(Job original) throws ReproductionRefusedException {
        if (original.modelDigest() == null || original.artifactDir() == null || !original.state().isFinal()) {
            throw new ReproductionRefusedException("job " + original.id() + " is " + original.state()
                    + ": only a sealed job that has ended can be reproduced",
                    List.of(new Violation("state", original.state().name())));
        }
        Path dir = Path.of(original.artifactDir());
        try {
            sealCheck.verify(dir, original.keyId());
            JsonNode bundle = JSON.readTree(Files.readAllBytes(dir.resolve(JobSealer.PROVENANCE_FILE)));
            byte[] payload = Base64.getDecoder().decode(bundle.path("dsseEnvelope").path("payload").asText());
            return RecordedInputs.from(JSON.readTree(payload));
        } catch (VerificationException e) {
            throw new ReproductionRefusedException("the seal of job " + original.id() + " no longer verifies",
                    e.reasons().stream().map(r -> new Violation("seal", r)).toList());
        } catch (IOException | IllegalArgumentException e) {
            throw new ReproductionRefusedException("the provenance of job " + original.id() + " cannot be read",
                    List.of(new Violation("provenance", String.valueOf(e.getMessage()))));
        }
    }

    @Override
    public void rerunEnded(Job rerun, Path sealedDir) {
        JobId originalId = rerun.reproductionOf();
        Job original = jobs.find(originalId).orElseThrow(() -> new IllegalStateException("no job " + originalId));
        Path originalDir = Path.of(original.artifactDir());
        ModelManifest before;
        ModelManifest after = null;
        try {
            sealCheck.verify(originalDir, original.keyId());
            before = ModelManifest.hash(originalDir, SEAL_FILES);
            if (sealedDir != null) {
                sealCheck.verify(sealedDir, rerun.keyId());
                after = ModelManifest.hash(sealedDir, SEAL_FILES);
            }
        } catch (VerificationException | SealException e) {
            throw new IllegalStateException("a seal to compare does not verify: " + e.getMessage(), e);
        }
        List<ReproductionStatement.FileResult> files = ReproductionStatement.compare(before, after);
        Map<String, Object> inputs = new LinkedHashMap<>();
        inputs.put("image", rerun.image());
        inputs.put("imageId", String.valueOf(rerun.imageId()));
        inputs.put("policy", rerun.policy() + "@" + rerun.policyDigest());
        inputs.put("dataset", rerun.dataset() == null ? null : rerun.dataset() + "@" + rerun.datasetDigest());
        inputs.put("seed", rerun.spec().seed());
        inputs.put("command", rerun.spec().command());
        inputs.put("hyperparameters", rerun.spec().hyperparameters());
        inputs.put("sameAsOriginal", rerun.imageId().equals(original.imageId())
                && rerun.policyDigest().equals(original.policyDigest())
                && java.util.Objects.equals(rerun.datasetDigest(), original.datasetDigest())
                && rerun.submittedSpec().equals(original.submittedSpec()));
        byte[] statement = ReproductionStatement.statement(before.name(),
                new ReproductionStatement.Run(original.id().value(), original.modelDigest(), original.state().name(),
                        null),
                new ReproductionStatement.Run(rerun.id().value(), after == null ? null : after.rootDigest(),
                        sealedDir == null ? rerun.state().name() : "SEALED", sealedDir == null ? rerun.reason() : null),
                inputs, files, builderId, clock.instant());
        byte[] bundle = Bundles.signStatement(signers.get(), statement);
        try {
            AtomicFiles.write(originalDir.resolve(JobSealer.REPRODUCTION_FILE), bundle);
        } catch (IOException e) {
            throw new IllegalStateException("cannot store the reproduction attestation: " + e.getMessage(), e);
        }
        List<String> differing = files.stream().filter(f -> !f.matches()).map(ReproductionStatement.FileResult::path)
                .toList();
        boolean reproduced = after != null && differing.isEmpty() && !files.isEmpty();
        audit.record("cloister", "job.reproduce", originalId.value(), reproduced ? "reproduced" : "not-reproduced",
                Map.of("rerun", rerun.id().value(), "files", files.size(), "differing", differing));
        LOG.infof("job %s re-run as %s: %s%s", originalId, rerun.id(), reproduced ? "reproduced" : "NOT reproduced",
                differing.isEmpty() ? "" : " (differing: " + String.join(", ", differing) + ")");
    }

    /** The latest reproducibility attestation of a job (a signed bundle), if it was ever re-run. */
    public Optional<byte[]> attestation(Job original) {
        if (original.artifactDir() == null) {
            return Optional.empty();
        }
        Path file = Path.of(original.artifactDir()).resolve(JobSealer.REPRODUCTION_FILE);
        try {
            return Files.isRegularFile(file) ? Optional.of(Files.readAllBytes(file)) : Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
