package dev.cloister.image;

import dev.cloister.image.ImageVerificationException.Check;
import dev.cloister.image.ImageVerificationException.Failure;

import java.util.List;
import java.util.Optional;

/**
 * Reads one image's cosign artifacts (manifests by tag, blobs by descriptor) for verification, turning every
 * registry problem into a recorded {@link Failure} rather than an exception, so that all checks still run.
 */
final class ArtifactReader {

    private final RegistryClient registry;
    private final RegistryLimits limits;
    private final ImageReference image;
    private final List<Failure> failures;

    ArtifactReader(RegistryClient registry, RegistryLimits limits, ImageReference image, List<Failure> failures) {
        this.registry = registry;
        this.limits = limits;
        this.image = image;
        this.failures = failures;
    }

    ImageReference image() {
        return image;
    }

    /**
     * @return the manifest at {@code tag}, empty when there is none, or null when it could not be read (recorded
     * as {@code REGISTRY}, or as {@code malformed} when the registry served bytes that do not match their digest)
     */
    Optional<RegistryClient.Manifest> manifest(String tag, Check malformed) {
        try {
            return registry.manifest(image, tag);
        } catch (RegistryClient.ContentMismatch e) {
            failures.add(new Failure(malformed, e.getMessage()));
        } catch (ImageException e) {
            failures.add(new Failure(Check.REGISTRY, "cannot read " + image.name() + ":" + tag + ": " + e.getMessage()));
        }
        return null;
    }

    /** @return the blob's bytes, checked against the descriptor's digest and size, or null (recorded) */
    byte[] blob(CosignLayout.Descriptor descriptor, Check malformed, String which, List<Failure> to) {
        if (descriptor.size() > limits.maxBlobBytes()) {
            to.add(new Failure(malformed, which + " is " + descriptor.size() + " bytes, more than the "
                    + limits.maxBlobBytes() + "-byte limit"));
            return null;
        }
        try {
            byte[] content = registry.blob(image, descriptor.digest(), limits.maxBlobBytes());
            if (content.length != descriptor.size()) {
                to.add(new Failure(malformed, which + " is " + content.length + " bytes, but its descriptor says "
                        + descriptor.size()));
                return null;
            }
            return content;
        } catch (RegistryClient.ContentMismatch e) {
            to.add(new Failure(malformed, which + ": " + e.getMessage()));
        } catch (ImageException e) {
            to.add(new Failure(Check.REGISTRY, which + ": " + e.getMessage()));
        }
        return null;
    }
}
