package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.keys.KeyId;
import dev.cloister.keys.Signer;
import dev.cloister.seal.Dsse;
import dev.cloister.seal.Provenance;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Signs a pushed serving image in cosign's tag layout with the host key, so that {@code cosign verify --key} and
 * {@code cosign verify-attestation --key} (with {@code --insecure-ignore-tlog}) can check it as well as
 * {@link ImageVerifier}: tag {@code sha256-<hex>.sig} gets the signed simple-signing payload, tag
 * {@code sha256-<hex>.att} the DSSE-signed SLSA provenance of the image. Signing again replaces both (cosign would
 * append a layer; one signature per key and image is all Cloister needs).
 */
public final class ImageSigner {

    /** Keys of the simple-signing payload's {@code optional} section. */
    static final String OPTIONAL_MODEL_DIGEST = ServingImageBuilder.LABEL_MODEL_DIGEST;

    private static final Logger LOG = Logger.getLogger(ImageSigner.class);

    /**
     * Where the signature and attestation went.
     *
     * @param image       the signed image, pinned by digest
     * @param signature   digest of the {@code .sig} manifest
     * @param attestation digest of the {@code .att} manifest
     * @param keyId       the key that signed both
     */
    public record Signatures(ImageReference image, Digest signature, Digest attestation, KeyId keyId) {
    }

    private final Supplier<Signer> signers;
    private final String builderId;
    private final RegistryClient registry;

    /**
     * @param signers   yields the active host signer at each signing (a rotated key signs from then on)
     * @param builderId this host's SLSA builder id (as in the training provenance)
     */
    public ImageSigner(Supplier<Signer> signers, String builderId, RegistryLimits limits) {
        this.signers = Objects.requireNonNull(signers, "signers");
        if (builderId == null || builderId.isBlank()) {
            throw new IllegalArgumentException("a builder id is required");
        }
        this.builderId = builderId;
        this.registry = new RegistryClient(Objects.requireNonNull(limits, "limits"));
    }

    /** Pushes the image's signature and attestation next to it in its repository. */
    public Signatures sign(ServingImage image) throws ImageException {
        Signer signer = signers.get();
        ImageReference repository = image.image();
        Digest digest = image.digest();

        byte[] payload = simpleSigningPayload(image);
        Digest signature = push(repository, CosignLayout.signatureTag(digest),
                CosignLayout.signatureLayer(payload, signer.sign(payload)));

        byte[] statement = ImageProvenance.statement(image, builderId);
        byte[] envelope = CosignLayout.envelope(Dsse.IN_TOTO_PAYLOAD_TYPE, statement,
                signer.sign(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, statement)));
        Digest attestation = push(repository, CosignLayout.attestationTag(digest),
                CosignLayout.attestationLayer(envelope, Provenance.PREDICATE_TYPE));

        LOG.infof("signed %s with key %s (signature %s, attestation %s)", repository.pinned(digest), signer.keyId(),
                signature, attestation);
        return new Signatures(repository.pinned(digest), signature, attestation, signer.keyId());
    }

    static byte[] simpleSigningPayload(ServingImage image) {
        return CosignLayout.simpleSigningPayload(image.image().name(), image.digest(), Map.of(
                ServingImageBuilder.originLabel(image.model().origin().kind()), image.model().origin().id(),
                OPTIONAL_MODEL_DIGEST, image.model().modelDigest().toString()));
    }

    private Digest push(ImageReference repository, String tag, CosignLayout.Layer layer) throws ImageException {
        byte[] config = CosignLayout.config(List.of(layer.digest()));
        registry.pushBlob(repository, layer.content());
        registry.pushBlob(repository, config);
        return registry.putManifest(repository, tag, CosignLayout.manifest(config, List.of(layer)),
                RegistryClient.OCI_MANIFEST);
    }

    @Override
    public String toString() {
        return "ImageSigner[builderId=" + builderId + "]";
    }
}
