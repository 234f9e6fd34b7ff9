package dev.cloister.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.digest.Digest;
import dev.cloister.image.ImageVerificationException.Check;
import dev.cloister.keys.HostKeys;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Against the real registry on 127.0.0.1:5000 (deploy/host-setup.sh starts it and pushes the serving base): builds,
 * signs and verifies serving images, and checks that every tampering a deployer must catch is caught and named.
 */
class ServingImageRegistryTest {

    private static final String REGISTRY = "127.0.0.1:5000";
    private static final Path BASE_REF = Path.of("/var/lib/cloister/images/serving-base.ref");
    private static final String RUN = HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    private static final RegistryLimits LIMITS = new RegistryLimits(Duration.ofSeconds(5), Duration.ofSeconds(30),
            Duration.ofMinutes(5), 4 * 1024 * 1024, 16 * 1024 * 1024);

    @TempDir
    static Path tmp;
    private static ImageReference base;
    private static HostKeys keys;
    private static String publicKey;
    private static ServingImageBuilder builder;
    private static ImageSigner signer;
    private static ImageVerifier verifier;
    private static Path servingCode;
    private static final RegistryClient registry = new RegistryClient(LIMITS);
    private static final List<ImageReference> pushed = new ArrayList<>();
    private static int repositories;

    @BeforeAll
    static void registryIsUp() throws Exception {
        try {
            HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
                    HttpRequest.newBuilder(URI.create("http://" + REGISTRY + "/v2/")).timeout(Duration.ofSeconds(5))
                            .build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                fail("the registry at " + REGISTRY + " answered HTTP " + r.statusCode() + ": run deploy/host-setup.sh");
            }
        } catch (IOException e) {
            fail("no registry at " + REGISTRY + " (" + e + "): run deploy/host-setup.sh");
        }
        if (!Files.isRegularFile(BASE_REF)) {
            fail("no serving base image reference at " + BASE_REF + ": run deploy/host-setup.sh");
        }
        base = ImageReference.parse(Files.readString(BASE_REF).strip());
        keys = HostKeys.open(tmp.resolve("keys"), "pass".toCharArray());
        publicKey = keys.signer().publicKeyPem();
        builder = new ServingImageBuilder(tmp.resolve("jib-cache"), LIMITS, Clock.systemUTC());
        signer = new ImageSigner(keys::signer, "urn:cloister:host:test", LIMITS);
        verifier = new ImageVerifier(LIMITS, Clock.systemUTC());
        servingCode = SealedJobs.servingCode(tmp.resolve("serving"));
    }

    @AfterAll
    static void removeTestManifests() {
        // Manifests only: the registry reclaims blobs on an explicit garbage-collect.
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (ImageReference image : pushed) {
            for (String ref : List.of(image.digest().orElseThrow().toString())) {
                try {
                    http.send(HttpRequest.newBuilder(URI.create("http://" + REGISTRY + "/v2/" + image.repository()
                                    + "/manifests/" + ref)).timeout(Duration.ofSeconds(5)).DELETE().build(),
                            HttpResponse.BodyHandlers.discarding());
                } catch (IOException | InterruptedException e) {
                    // Best effort.
                }
            }
        }
        if (keys != null) {
            keys.close();
        }
    }

    /** A fresh repository per test, so tests never see each other's tags. */
    private static ImageReference target(String tag) {
        return ImageReference.parse(REGISTRY + "/cloister/test/image-" + RUN + "-" + (++repositories) + ":" + tag);
    }

    private static SealedJobs.Sealed seal(String name, String policy, String weights) throws Exception {
        return SealedJobs.seal(keys.signer(), tmp.resolve(name), SealedJobs.newJobId(), policy,
                Map.of("weights.json", weights, "meta/classes.txt", "benign\nmalignant\n"));
    }

    private static ServingImage build(SealedJobs.Sealed sealed, ImageReference target) throws ImageException {
        ServingImage image = builder.build(base, sealed.dir(), servingCode, sealed.metadata(), target);
        pushed.add(image.image());
        return image;
    }

    private static ImageSigner.Signatures sign(ImageSigner with, ServingImage image) throws ImageException {
        ImageSigner.Signatures s = with.sign(image);
        pushed.add(image.image().pinned(s.signature()));
        pushed.add(image.image().pinned(s.attestation()));
        return s;
    }

    private static ImageVerificationException rejected(ImageReference image, Optional<ReleasePolicy> policy) {
        return assertThrows(ImageVerificationException.class, () -> verifier.verify(image, publicKey, policy),
                "verification of " + image + " should fail");
    }

    private static List<Check> checks(ImageVerificationException e) {
        return e.failures().stream().map(ImageVerificationException.Failure::check).toList();
    }

    @Test
    void theSameSealedJobBuildsToTheSameDigest() throws Exception {
        SealedJobs.Sealed sealed = seal("twice", "restricted", "[0.25, 0.5]");
        ImageReference target = target(sealed.metadata().origin().id());
        ServingImage first = build(sealed, target);

        // The same sealed files elsewhere, with other timestamps, under another tag.
        Path copy = tmp.resolve("twice-copy");
        try (Stream<Path> files = Files.walk(sealed.dir())) {
            for (Path p : files.toList()) {
                Path to = copy.resolve(sealed.dir().relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
                Files.setLastModifiedTime(to, FileTime.from(Instant.now().plusSeconds(3600)));
            }
        }
        ServingImage second = build(new SealedJobs.Sealed(copy, sealed.metadata()), target.withTag("again"));
        assertEquals(first.digest(), second.digest(), "two builds of the same sealed job must give the same digest");

        SealedJobs.Sealed other = seal("other", "restricted", "[0.75]");
        assertNotEquals(first.digest(), build(other, target.withTag("other")).digest(), "other content, other digest");

        // What the image is: config and the model layer, as a runtime would unpack them.
        RegistryClient.Manifest manifest = registry.manifest(target, first.digest().toString()).orElseThrow();
        assertEquals(RegistryClient.OCI_MANIFEST, manifest.mediaType());
        JsonNode m = Json.readObject(manifest.bytes());
        JsonNode config = Json.readObject(registry.blob(target,
                Digest.parse(m.path("config").path("digest").asText()), 1 << 20));
        JsonNode c = config.path("config");
        assertEquals("65534:65534", c.path("User").asText());
        assertEquals("[\"/usr/bin/tini\",\"--\",\"python3\",\"/opt/cloister/serving/serve.py\"]",
                c.path("Entrypoint").toString());
        assertTrue(c.path("ExposedPorts").has("8080/tcp"), c.toString());
        assertEquals(SealedJobs.SEALED, Instant.parse(config.path("created").asText()));
        JsonNode labels = c.path("Labels");
        assertEquals(sealed.metadata().modelDigest().toString(), labels.path("dev.cloister.model.digest").asText());
        assertEquals(sealed.metadata().origin().id(), labels.path("dev.cloister.job-id").asText());
        assertEquals("restricted", labels.path("dev.cloister.policy").asText());
        assertEquals(base.digest().orElseThrow().toString(), labels.path("org.opencontainers.image.base.digest").asText());

        JsonNode layers = m.path("layers");
        Map<String, TarArchiveEntry> model = layer(target, layers.get(layers.size() - 2));
        assertEquals(List.of("model/", "model/meta/", "model/meta/classes.txt", "model/model.sig",
                "model/provenance.sigstore.json", "model/weights.json"), List.copyOf(model.keySet()));
        for (TarArchiveEntry e : model.values()) {
            assertEquals(0, e.getLongUserId(), e.getName());
            assertEquals(0, e.getLongGroupId(), e.getName());
            assertEquals(1, e.getModTime().toInstant().getEpochSecond(), e.getName());
            assertEquals(e.isDirectory() ? 0755 : 0644, e.getMode() & 07777, e.getName());
        }
        Map<String, TarArchiveEntry> code = layer(target, layers.get(layers.size() - 1));
        assertTrue(code.containsKey("opt/cloister/serving/serve.py"), code.keySet().toString());
    }

    private static Map<String, TarArchiveEntry> layer(ImageReference repo, JsonNode descriptor) throws Exception {
        byte[] blob = registry.blob(repo, Digest.parse(descriptor.path("digest").asText()), 16 << 20);
        Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(new ByteArrayInputStream(blob)))) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                entries.put(e.getName(), e);
            }
        }
        return entries;
    }

    @Test
    void aSignedImageVerifiesByTagAndByDigest() throws Exception {
        SealedJobs.Sealed sealed = seal("signed", "restricted", "[1]");
        ServingImage image = build(sealed, target(sealed.metadata().origin().id()));
        ImageSigner.Signatures signatures = sign(signer, image);
        assertEquals(keys.activeKeyId(), signatures.keyId());

        VerifiedImage byTag = verifier.verify(image.image().withTag(image.image().tag().orElseThrow()), publicKey,
                Optional.empty());
        assertEquals(image.digest(), byTag.digest());
        assertEquals(sealed.metadata().origin().id(), byTag.origin());
        assertEquals("restricted", byTag.trainingPolicy());
        assertEquals(List.of(SealedJobs.DATASET), byTag.datasetDigests());
        assertEquals(base, byTag.baseImage());
        assertEquals(sealed.metadata().modelDigest(), byTag.modelDigest());
        assertEquals(image.trainingProvenance(), byTag.trainingProvenance());
        assertEquals(image.finishedOn(), byTag.builtOn());
        assertEquals(keys.activeKeyId(), byTag.keyId());

        ReleasePolicy policy = ReleasePolicy.parse("release.yaml", """
                allowedPolicies: [restricted]
                allowedDatasetDigests: [%s]
                allowedBaseImages: [%s]
                maxAge: 30d
                """.formatted(SealedJobs.DATASET, base));
        assertEquals(byTag, verifier.verify(image.image().pinned(image.digest()), publicKey, Optional.of(policy)));

        // The signature payload is cosign's, for this repository and digest.
        RegistryClient.Manifest sig = registry.manifest(image.image(), CosignLayout.signatureTag(image.digest()))
                .orElseThrow();
        JsonNode layer = Json.readObject(sig.bytes()).path("layers").get(0);
        String payload = new String(registry.blob(image.image(), Digest.parse(layer.path("digest").asText()), 1 << 20),
                StandardCharsets.UTF_8);
        assertTrue(payload.startsWith("{\"critical\":{\"identity\":{\"docker-reference\":\"" + image.image().name()
                + "\"},\"image\":{\"docker-manifest-digest\":\"" + image.digest() + "\"},\"type\":\"cosign container "
                + "image signature\"},\"optional\":{"), payload);
    }

    @Test
    void aTagWithoutSignatureIsRejected() throws Exception {
        SealedJobs.Sealed sealed = seal("unsigned", "restricted", "[2]");
        ServingImage image = build(sealed, target("unsigned"));
        ImageVerificationException e = rejected(image.image().withTag("unsigned"), Optional.empty());
        assertEquals(List.of(Check.SIGNATURE_MISSING, Check.ATTESTATION_MISSING), checks(e), e.getMessage());
        assertTrue(e.getMessage().contains("no signature: " + image.image().name() + ":sha256-"
                + image.digest().hex() + ".sig does not exist"), e.getMessage());

        ImageVerificationException missing = rejected(image.image().withTag("no-such-tag"), Optional.empty());
        assertEquals(List.of(Check.IMAGE), checks(missing), missing.getMessage());
    }

    @Test
    void anotherImagePushedUnderTheSignedTagIsRejected() throws Exception {
        ImageReference target = target("release");
        ServingImage signed = build(seal("good", "restricted", "[3]"), target);
        sign(signer, signed);
        verifier.verify(target, publicKey, Optional.empty());

        ServingImage swapped = build(seal("swapped", "restricted", "[666]"), target);
        ImageVerificationException e = rejected(target, Optional.empty());
        assertEquals(List.of(Check.SIGNATURE_MISSING, Check.ATTESTATION_MISSING), checks(e), e.getMessage());
        assertTrue(e.getMessage().contains("the image at " + swapped.digest() + " was never signed (if 'release' was "
                + "signed before, a different image has since been pushed under that tag)"), e.getMessage());
        // The signed image itself still verifies by digest.
        verifier.verify(target.pinned(signed.digest()), publicKey, Optional.empty());
    }

    @Test
    void aSignatureByAnotherKeyIsRejected() throws Exception {
        ServingImage image = build(seal("other-key", "restricted", "[4]"), target("other-key"));
        dev.cloister.seal.TestSigner other = new dev.cloister.seal.TestSigner();
        sign(new ImageSigner(() -> other, "urn:cloister:host:elsewhere", LIMITS), image);
        ImageVerificationException e = rejected(image.image().withTag("other-key"), Optional.empty());
        assertEquals(List.of(Check.SIGNATURE_INVALID, Check.ATTESTATION_INVALID), checks(e), e.getMessage());
        assertTrue(e.failures().get(0).message().contains("does not verify with the pinned key " + keys.activeKeyId()
                + ": it was made by another key"), e.getMessage());
        // With that other key pinned, the same image verifies.
        assertEquals(other.keyId(), verifier.verify(image.image().withTag("other-key"), other.publicKeyPem(),
                Optional.empty()).keyId());
    }

    @Test
    void signaturesAndAttestationsCopiedFromAnotherImageAreRejected() throws Exception {
        ImageReference target = target("victim");
        ServingImage victim = build(seal("victim", "restricted", "[5]"), target);
        ServingImage donor = build(seal("donor", "restricted", "[6]"), target.withTag("donor"));
        sign(signer, victim);
        sign(signer, donor);

        // The donor's attestation, validly signed, copied to the victim's attestation tag.
        copyManifest(target, CosignLayout.attestationTag(donor.digest()), CosignLayout.attestationTag(victim.digest()));
        ImageVerificationException att = rejected(target, Optional.empty());
        assertEquals(List.of(Check.ATTESTATION_MISMATCH), checks(att), att.getMessage());
        assertTrue(att.getMessage().contains("is about image " + donor.digest() + ", not " + victim.digest()
                + ": it was copied from another image"), att.getMessage());

        // And its signature too.
        copyManifest(target, CosignLayout.signatureTag(donor.digest()), CosignLayout.signatureTag(victim.digest()));
        ImageVerificationException both = rejected(target, Optional.empty());
        assertEquals(List.of(Check.SIGNATURE_MISMATCH, Check.ATTESTATION_MISMATCH), checks(both), both.getMessage());
        assertTrue(both.getMessage().contains("signs image " + donor.digest() + ", not " + victim.digest()
                + ": the signature was copied from another image"), both.getMessage());
    }

    private static void copyManifest(ImageReference repo, String fromTag, String toTag) throws ImageException {
        RegistryClient.Manifest m = registry.manifest(repo, fromTag).orElseThrow();
        registry.putManifest(repo, toTag, m.bytes(), RegistryClient.OCI_MANIFEST);
    }

    @Test
    void releasePolicyViolationsAreListed() throws Exception {
        ServingImage image = build(seal("policy", "restricted", "[7]"), target("policy"));
        sign(signer, image);
        Digest otherData = Digest.of("another data set");
        ReleasePolicy policy = ReleasePolicy.parse("strict.yaml", """
                allowedPolicies: [standard]
                allowedDatasetDigests: [%s]
                """.formatted(otherData));
        ImageVerificationException e = rejected(image.image().withTag("policy"), Optional.of(policy));
        assertEquals(List.of(Check.RELEASE_POLICY, Check.RELEASE_POLICY), checks(e), e.getMessage());
        assertTrue(e.getMessage().contains("trained under policy 'restricted', which is not one of the allowed "
                + "[standard]"), e.getMessage());
        assertTrue(e.getMessage().contains("trained on data set " + SealedJobs.DATASET + ", which is not one of the "
                + "allowed [" + otherData + "]"), e.getMessage());

        // Too old for a deployer whose clock says 40 days later.
        ImageVerifier later = new ImageVerifier(LIMITS, Clock.fixed(Instant.now().plus(Duration.ofDays(40)),
                ZoneOffset.UTC));
        ImageVerificationException old = assertThrows(ImageVerificationException.class, () -> later.verify(
                image.image().withTag("policy"), publicKey,
                Optional.of(ReleasePolicy.parse("age.yaml", "allowedPolicies: [restricted]\nmaxAge: 30d\n"))));
        assertEquals(List.of(Check.RELEASE_POLICY), checks(old), old.getMessage());
        assertTrue(old.getMessage().contains("more than the allowed 30d"), old.getMessage());
    }

    @Test
    void labelsThatContradictTheSignedAttestationAreRejected() throws Exception {
        ServingImage image = build(seal("labels", "restricted", "[9]"), target("labels"));
        // A signer fed wrong facts: the attestation then names another model than the image's label.
        ModelMetadata wrong = new ModelMetadata(image.model().origin(), Digest.of("another model"),
                image.model().policy(), image.model().created());
        sign(signer, new ServingImage(image.image(), image.base(), wrong, image.trainingProvenance(), image.datasets(),
                image.servingCode(), image.startedOn(), image.finishedOn()));
        ImageVerificationException e = rejected(image.image().withTag("labels"), Optional.empty());
        assertEquals(List.of(Check.LABELS), checks(e), e.getMessage());
        assertTrue(e.getMessage().contains("label dev.cloister.model.digest is '" + image.model().modelDigest()
                + "', but the signed attestation says '" + Digest.of("another model") + "'"), e.getMessage());
    }

    @Test
    void registryAnswersAreSizeCapped() throws Exception {
        RegistryClient small = new RegistryClient(new RegistryLimits(Duration.ofSeconds(5), Duration.ofSeconds(30),
                Duration.ofMinutes(1), 1024, 1024));
        JsonNode manifest = Json.readObject(registry.manifest(base, base.reference()).orElseThrow().bytes());
        JsonNode config = manifest.path("config");
        assertTrue(config.path("size").asLong() > 1024, "the base image config is over 1 KiB");
        ImageException e = assertThrows(ImageException.class, () -> small.blob(base,
                Digest.parse(config.path("digest").asText()), 1024));
        assertTrue(e.getMessage().contains("larger than the 1024-byte limit"), e.getMessage());
    }

    @Test
    void anUnusableKeyIsRefused() {
        ImageVerificationException e = assertThrows(ImageVerificationException.class, () -> verifier.verify(
                ImageReference.parse(REGISTRY + "/cloister/none:x"), "not a key", Optional.empty()));
        assertEquals(List.of(Check.KEY), checks(e), e.getMessage());
    }

    @Test
    void anUnreachableRegistryIsAFailureNotAHang() {
        ImageVerificationException e = rejected(ImageReference.parse("127.0.0.1:1/cloister/none:x"), Optional.empty());
        assertEquals(List.of(Check.REGISTRY), checks(e), e.getMessage());
        assertTrue(e.getMessage().contains("cannot connect to the registry 127.0.0.1:1"), e.getMessage());
    }

    @Test
    void anUnpinnedBaseIsRefusedBeforeAnythingIsPushed() throws Exception {
        SealedJobs.Sealed sealed = seal("unpinned", "restricted", "[8]");
        ImageException e = assertThrows(ImageException.class, () -> builder.build(
                ImageReference.parse(REGISTRY + "/cloister/serving-base:bookworm"), sealed.dir(), servingCode,
                sealed.metadata(), target("unpinned")));
        assertTrue(e.getMessage().contains("is not pinned by digest"), e.getMessage());
    }
}
