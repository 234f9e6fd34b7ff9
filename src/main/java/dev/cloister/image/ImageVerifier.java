package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.image.ImageVerificationException.Check;
import dev.cloister.image.ImageVerificationException.Failure;
import dev.cloister.keys.PublicKeyPem;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Verifies a serving image in a registry against a pinned public key, as a deployer would before release: resolves
 * the reference to a manifest digest (computed from the bytes), checks the cosign signature at
 * {@code sha256-<hex>.sig} (signed by the key, for this digest and this repository), checks the SLSA attestation at
 * {@code sha256-<hex>.att} (signed by the key, about this digest), checks that the image's labels agree with the
 * attestation, and applies the deployer's {@link ReleasePolicy}. Returns only when everything holds; otherwise throws
 * {@link ImageVerificationException} with every failure found.
 */
public final class ImageVerifier {

    private final RegistryLimits limits;
    private final RegistryClient registry;
    private final Clock clock;

    /** @param clock the time a release policy's {@code maxAge} is measured against */
    public ImageVerifier(RegistryLimits limits, Clock clock) {
        this.limits = Objects.requireNonNull(limits, "limits");
        this.registry = new RegistryClient(limits);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Verifies {@code image} (by tag or by digest).
     *
     * @param publicKeyPem the pinned public key (PEM); the image must be signed and attested by it
     * @param policy       the deployer's release policy, if any
     * @return what the verified attestation states
     * @throws ImageVerificationException listing every failed check
     */
    public VerifiedImage verify(ImageReference image, String publicKeyPem, Optional<ReleasePolicy> policy)
            throws ImageVerificationException {
        PublicKeyPem key;
        try {
            key = PublicKeyPem.parse(publicKeyPem);
        } catch (IllegalArgumentException e) {
            throw fail(Check.KEY, "the public key cannot be used: " + e.getMessage());
        }
        RegistryClient.Manifest manifest = resolve(image);
        Digest digest = manifest.digest();

        List<Failure> failures = new ArrayList<>();
        ArtifactReader reader = new ArtifactReader(registry, limits, image, failures);
        SignatureCheck.run(reader, digest, key, failures);
        ImageProvenance.Claims claims = AttestationCheck.run(reader, digest, key, failures);
        if (claims != null) {
            checkLabels(reader, manifest, claims, failures);
            policy.ifPresent(p -> p.violations(claims, clock.instant())
                    .forEach(v -> failures.add(new Failure(Check.RELEASE_POLICY, v))));
        }
        if (!failures.isEmpty()) {
            throw new ImageVerificationException(failures);
        }
        return new VerifiedImage(image.pinned(digest), key.keyId(), claims.origin().id(), claims.trainingPolicy(),
                claims.datasets(), claims.base(), claims.model(), claims.trainingProvenance(), claims.builtOn(),
                claims.builderId());
    }

    private RegistryClient.Manifest resolve(ImageReference image) throws ImageVerificationException {
        try {
            return registry.manifest(image, image.reference())
                    .orElseThrow(() -> fail(Check.IMAGE, "there is no image " + image + " in the registry"));
        } catch (RegistryClient.ContentMismatch e) {
            throw fail(Check.IMAGE, e.getMessage());
        } catch (ImageException e) {
            throw fail(Check.REGISTRY, "cannot read " + image + ": " + e.getMessage());
        }
    }

    /** The image's config labels are covered by its digest: they must say what the attestation says. */
    private static void checkLabels(ArtifactReader reader, RegistryClient.Manifest manifest,
                                    ImageProvenance.Claims claims, List<Failure> failures) {
        ImageReference image = reader.image();
        CosignLayout.Descriptor config = CosignLayout.config(manifest.bytes());
        if (config == null) {
            failures.add(new Failure(Check.IMAGE, image + " is not a single image manifest with a config"
                    + " (Cloister serving images are)"));
            return;
        }
        byte[] bytes = reader.blob(config, Check.IMAGE, "the image config of " + image, failures);
        ObjectNode json = bytes == null ? null : Json.readObject(bytes);
        if (json == null) {
            if (bytes != null) {
                failures.add(new Failure(Check.IMAGE, "the image config of " + image + " is not JSON"));
            }
            return;
        }
        JsonNode labels = json.path("config").path("Labels");
        Map<String, String> expected = Map.of(
                ServingImageBuilder.LABEL_MODEL_DIGEST, String.valueOf(claims.model()),
                ServingImageBuilder.originLabel(claims.origin().kind()), claims.origin().id(),
                ServingImageBuilder.LABEL_POLICY, claims.trainingPolicy(),
                ServingImageBuilder.LABEL_BASE_DIGEST, String.valueOf(claims.base().digest().orElseThrow()),
                ServingImageBuilder.LABEL_TRAINING_PROVENANCE, String.valueOf(claims.trainingProvenance()));
        expected.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String actual = labels.path(e.getKey()).asText(null);
            if (!e.getValue().equals(actual)) {
                failures.add(new Failure(Check.LABELS, "label " + e.getKey() + " is '" + actual
                        + "', but the signed attestation says '" + e.getValue() + "'"));
            }
        });
    }

    private static ImageVerificationException fail(Check check, String message) {
        return new ImageVerificationException(List.of(new Failure(check, message)));
    }

    @Override
    public String toString() {
        return "ImageVerifier[requestTimeout=" + limits.requestTimeout() + "]";
    }
}
