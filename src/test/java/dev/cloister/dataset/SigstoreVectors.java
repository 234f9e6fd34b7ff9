package dev.cloister.dataset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bouncycastle.asn1.ASN1OctetString;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The keyless Sigstore vectors of {@code ../shared/test-vectors/sigstore-java-1.3.0} (public-good instance,
 * Apache-2.0), and the trusted root they chain to, copied unchanged into this package's test resources. Tests fail,
 * never skip, when the vectors are missing.
 */
public final class SigstoreVectors {

    /** Signs {@code artifact.txt} as a message signature (bundle v0.2). */
    public static final String BUNDLE_V2 = "bundle.sigstore";
    /** Signs {@code artifact.txt} as a message signature (bundle v0.3). */
    public static final String BUNDLE_V3 = "bundle.v3.sigstore";
    /** A DSSE bundle by a CI workflow identity whose in-toto subject is {@code artifact.txt}. */
    public static final String BUNDLE_DSSE = "bundle.dsse.sigstore";
    /** Its Rekor SET does not match: must be rejected. */
    public static final String MISMATCHED_SET = "bundle-with-mismatched-set.sigstore";
    /** A DSSE bundle whose signature is broken: must be rejected. */
    public static final String DSSE_BAD_SIGNATURE = "bundle.dsse.bad-signature.sigstore";
    public static final String ARTIFACT = "artifact.txt";

    private static final String RESOURCE = "dev/cloister/dataset/trusted_root.json";
    private static TrustedRoot trustedRoot;

    /** The identity and issuer read from a bundle's leaf certificate, independently of the code under test. */
    public record Signer(String identity, String issuer) {
    }

    private SigstoreVectors() {
    }

    public static Path dir() {
        Path dir = Path.of("..", "shared", "test-vectors", "sigstore-java-1.3.0").toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            fail("Sigstore test vectors not found at " + dir + " (resolved from " + Path.of("").toAbsolutePath()
                    + "): check out shared/ beside the project so that ../shared/test-vectors/sigstore-java-1.3.0 exists");
        }
        return dir;
    }

    public static Path file(String name) {
        Path file = dir().resolve(name);
        if (!Files.isRegularFile(file)) {
            fail("Sigstore test vector " + name + " is missing from " + dir());
        }
        return file;
    }

    public static String bundle(String name) {
        try {
            return Files.readString(file(name), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + name, e);
        }
    }

    /** The trusted root copied into the test resources (checked to be the vectors' own {@code trusted_root.json}). */
    public static Path trustedRootFile() {
        URL url = SigstoreVectors.class.getClassLoader().getResource(RESOURCE);
        if (url == null) {
            fail("test resource " + RESOURCE + " is missing");
        }
        try {
            Path copy = Path.of(url.toURI());
            if (!java.util.Arrays.equals(Files.readAllBytes(copy), Files.readAllBytes(file("trusted_root.json")))) {
                fail(RESOURCE + " differs from the vectors' trusted_root.json: copy it again, unchanged");
            }
            return copy;
        } catch (IOException | URISyntaxException e) {
            throw new AssertionError("cannot read " + RESOURCE, e);
        }
    }

    public static synchronized TrustedRoot trustedRoot() {
        if (trustedRoot == null) {
            trustedRoot = TrustedRoot.read("trusted-roots/public-good.json", trustedRootFile());
        }
        return trustedRoot;
    }

    /** A requirement accepting exactly the signer of {@code bundleName}. */
    public static SignatureRequirement requirementFor(String bundleName) {
        Signer s = signer(bundleName);
        return new SignatureRequirement(List.of(s.identity()), List.of(s.issuer()), trustedRoot());
    }

    /** Reads SAN and issuer (OID 1.3.6.1.4.1.57264.1.1) from the bundle's leaf certificate with JCA and Bouncy Castle. */
    public static Signer signer(String bundleName) {
        try {
            JsonNode material = new ObjectMapper().readTree(bundle(bundleName)).path("verificationMaterial");
            JsonNode raw = material.has("certificate") ? material.path("certificate").path("rawBytes")
                    : material.path("x509CertificateChain").path("certificates").path(0).path("rawBytes");
            X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(raw.asText())));
            String identity = (String) leaf.getSubjectAlternativeNames().iterator().next().get(1);
            byte[] ext = leaf.getExtensionValue("1.3.6.1.4.1.57264.1.1");
            String issuer = new String(ASN1OctetString.getInstance(ext).getOctets(), StandardCharsets.UTF_8);
            return new Signer(identity, issuer);
        } catch (IOException | CertificateException e) {
            throw new AssertionError("cannot read the leaf certificate of " + bundleName, e);
        }
    }

    /** Makes {@code root/name} holding only a copy of {@code artifact.txt}, the file the bundles sign. */
    public static Path datasetWithArtifact(Path root, String name) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name));
        Files.copy(file(ARTIFACT), dir.resolve(ARTIFACT));
        dir.resolve(ARTIFACT).toFile().setWritable(true);
        return dir;
    }
}
