package dev.cloister.image;

import dev.cloister.job.ModelPublisher;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Publishes sealed models to an OCI registry: a serving image (Jib) under {@code <prefix>/<name>:<id>} (the name
 * and id of the job or federation that trained it), then its cosign-layout signature and attestation.
 */
public final class RegistryPublisher implements ModelPublisher {

    /**
     * Where images go and what they are built from. {@code servingBase} is asked at each build, so a host whose base
     * image appears (or is re-pushed) later needs no restart; when it is missing, the job says so.
     */
    public record Target(String registry, String repositoryPrefix, Supplier<Optional<String>> servingBase,
                         Path servingCode) {
    }

    private final ServingImageBuilder builder;
    private final ImageSigner signer;
    private final Target target;

    public RegistryPublisher(ServingImageBuilder builder, ImageSigner signer, Target target) {
        this.builder = builder;
        this.signer = signer;
        this.target = target;
    }

    @Override
    public Packaged packageModel(SealedModel sealed) throws PublishException {
        ModelMetadata model = new ModelMetadata(sealed.origin(), sealed.modelDigest(), sealed.policy(),
                sealed.sealedAt());
        ImageReference to = ImageReference.parse(target.registry() + "/" + target.repositoryPrefix() + "/"
                + sealed.name() + ":" + sealed.origin().id());
        String base = target.servingBase().get().orElseThrow(() -> new PublishException(
                "no serving base image is configured: run deploy/host-setup.sh or set cloister.images.serving-base", null));
        try {
            ServingImage image = builder.build(ImageReference.parse(base), sealed.dir(), target.servingCode(), model, to);
            return new Packaged(image.image().toString(), image.digest(), image);
        } catch (ImageException e) {
            throw new PublishException("serving image not built: " + String.join("; ", e.problems()), e);
        }
    }

    @Override
    public Published sign(Packaged packaged) throws PublishException {
        try {
            ImageSigner.Signatures s = signer.sign((ServingImage) packaged.handle());
            String hex = packaged.digest().hex();
            return new Published("sha256-" + hex + ".sig", "sha256-" + hex + ".att", s.keyId().hex());
        } catch (ImageException e) {
            throw new PublishException("serving image not signed: " + String.join("; ", e.problems()), e);
        }
    }
}
