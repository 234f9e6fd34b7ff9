package dev.cloister.seal;

import dev.cloister.keys.Signer;

import dev.cloister.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Seals a model directory the OMS v1.0 way: hashes it into a {@link ModelManifest}, signs the statement as a DSSE
 * envelope in a Sigstore bundle and writes it to {@code model.sig} inside the directory (temp file, then rename).
 */
public final class ModelSigner {

    /** The signature file's name in the model directory; it is never part of the manifest. */
    public static final String SIGNATURE_FILE = "model.sig";

    private final Signer signer;
    private final int hashThreads;

    public ModelSigner(Signer signer) {
        this(signer, ModelManifest.DEFAULT_HASH_THREADS);
    }

    public ModelSigner(Signer signer, int hashThreads) {
        this.signer = Objects.requireNonNull(signer, "signer");
        if (hashThreads < 1) {
            throw new IllegalArgumentException("hashing needs at least one thread");
        }
        this.hashThreads = hashThreads;
    }

    /**
     * Hashes and signs {@code modelDir}; {@code extraIgnorePaths} (relative to the model root, such as the
     * provenance file's name) are left out in addition to the OMS defaults and {@code model.sig}.
     */
    public SealedModel sign(Path modelDir, String... extraIgnorePaths) throws SealException {
        List<String> ignore = new ArrayList<>();
        ignore.add(SIGNATURE_FILE);
        ignore.addAll(List.of(extraIgnorePaths));
        ModelManifest manifest = ModelManifest.hash(modelDir, ignore, hashThreads);
        byte[] bundle = Bundles.signStatement(signer, OmsStatement.toJson(manifest));
        Path target = modelDir.toAbsolutePath().normalize().resolve(SIGNATURE_FILE);
        try {
            AtomicFiles.write(target, bundle);
        } catch (IOException e) {
            throw new SealException("cannot write " + target + ": " + e.getMessage(), e);
        }
        return new SealedModel(target, manifest, signer.keyId());
    }

    @Override
    public String toString() {
        return "ModelSigner[keyId=" + signer.keyId() + "]";
    }
}
