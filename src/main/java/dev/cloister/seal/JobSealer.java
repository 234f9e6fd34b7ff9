package dev.cloister.seal;

import dev.cloister.files.AtomicFiles;
import dev.cloister.keys.KeyId;
import dev.cloister.keys.Signer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * Seals a finished job's output directory: {@code model.sig} (OMS) and {@code provenance.sigstore.json} (SLSA),
 * both signed by the host key. Both files are written, or neither is.
 */
public final class JobSealer {

    public static final String PROVENANCE_FILE = "provenance.sigstore.json";
    /**
     * The signed reproducibility attestation of a sealed job ({@link ReproductionStatement}), written beside the
     * seal after a re-run; like the seal files it is not a model file.
     */
    public static final String REPRODUCTION_FILE = "reproduction.sigstore.json";

    /** What sealing produced. */
    public record Seal(ModelManifest manifest, KeyId keyId, Path signatureFile, Path provenanceFile) {
    }

    private final Supplier<Signer> signers;
    private final int hashThreads;

    /** @param signers yields the active signer at each seal, so a rotated key signs from then on */
    public JobSealer(Supplier<Signer> signers, int hashThreads) {
        this.signers = signers;
        this.hashThreads = hashThreads;
    }

    public Seal seal(Path modelDir, ProvenanceFacts facts) throws SealException {
        return seal(modelDir, manifest -> Provenance.statement(facts, manifest));
    }

    /**
     * Seals {@code modelDir} with a provenance statement built from its manifest by {@code statement} (an in-toto
     * statement, such as a federation's SLSA provenance); otherwise exactly as a job's seal.
     */
    public Seal seal(Path modelDir, java.util.function.Function<ModelManifest, byte[]> statement)
            throws SealException {
        Signer signer = signers.get();
        ModelManifest manifest = ModelManifest.hash(modelDir, List.of(ModelSigner.SIGNATURE_FILE, PROVENANCE_FILE),
                hashThreads);
        byte[] modelBundle = Bundles.signStatement(signer, OmsStatement.toJson(manifest));
        byte[] provenanceBundle = Bundles.signStatement(signer, statement.apply(manifest));
        Path signature = modelDir.resolve(ModelSigner.SIGNATURE_FILE);
        Path provenance = modelDir.resolve(PROVENANCE_FILE);
        try {
            AtomicFiles.write(provenance, provenanceBundle);
            AtomicFiles.write(signature, modelBundle);
        } catch (IOException | RuntimeException e) {
            // No half seal: a provenance without its model signature (or the reverse) is removed.
            try {
                Files.deleteIfExists(signature);
                Files.deleteIfExists(provenance);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new SealException("cannot write the seal: " + e.getMessage(), e);
        }
        return new Seal(manifest, signer.keyId(), signature, provenance);
    }
}
