package dev.cloister.dataset;

import dev.sigstore.KeylessVerificationException;
import dev.sigstore.VerificationOptions;
import dev.sigstore.bundle.Bundle;
import dev.sigstore.bundle.BundleParseException;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The one place that touches sigstore-java: parses a bundle, verifies it offline with {@code KeylessVerifier}
 * (certificate chain to the trusted root's Fulcio CA, embedded SCT, Rekor entry and its inclusion proof or SET,
 * signature over the artifact's SHA-256) and then reads and matches the signer from the leaf certificate.
 */
final class SigstoreCheck {

    /** Fulcio's OIDC issuer extension (v1: the raw issuer URL as the extension's octets). */
    static final String OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
    /** Fulcio's OIDC issuer extension (v2: a DER UTF8String); read when v1 is absent. */
    static final String OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";
    /** Bundles are a few kilobytes; a DSSE bundle with a large payload stays well under this. */
    static final int MAX_BUNDLE_CHARS = 1 << 20;
    private static final int SAN_EMAIL = 1;
    private static final int SAN_URI = 6;
    private static final int MAX_REASON = 400;

    record Signer(String identity, String issuer) {
    }

    private SigstoreCheck() {
    }

    static Bundle parse(String json) throws DatasetException {
        if (json.length() > MAX_BUNDLE_CHARS) {
            throw refusal("the Sigstore bundle is larger than " + MAX_BUNDLE_CHARS + " characters");
        }
        try {
            return Bundle.from(new StringReader(json));
        } catch (BundleParseException | RuntimeException e) {
            throw refusal("not a Sigstore bundle: " + reason(e));
        }
    }

    /**
     * Returns the signer only if {@code bundle} verifies over the artifact with this SHA-256 against the requirement's
     * trusted root, and its certificate names an accepted identity and issuer; throws with the reason otherwise.
     */
    static Signer verify(Bundle bundle, byte[] artifactSha256, SignatureRequirement requirement) throws DatasetException {
        try {
            requirement.trustedRoot().verifier().verify(artifactSha256, bundle, VerificationOptions.empty());
        } catch (KeylessVerificationException | RuntimeException e) {
            throw refusal("the signature does not verify against trusted root '" + requirement.trustedRoot().name()
                    + "': " + reason(e));
        }
        // Matched here rather than with sigstore-java's certificate matchers, so a refusal says who signed.
        Signer signer = signer(bundle);
        boolean identityOk = requirement.identities().contains(signer.identity());
        boolean issuerOk = requirement.issuers().contains(signer.issuer());
        if (!identityOk || !issuerOk) {
            throw refusal("signed by '" + signer.identity() + "' (issuer '" + signer.issuer() + "'), but only "
                    + requirement.describe() + " are accepted"
                    + (identityOk ? " (the issuer does not match)" : issuerOk ? " (the identity does not match)" : ""));
        }
        return signer;
    }

    static Signer signer(Bundle bundle) throws DatasetException {
        if (bundle.getCertPath() == null || bundle.getCertPath().getCertificates().isEmpty()
                || !(bundle.getCertPath().getCertificates().get(0) instanceof X509Certificate leaf)) {
            throw refusal("the bundle carries no signing certificate (keyless signatures need one)");
        }
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() == 2 && san.get(0) instanceof Integer type && (type == SAN_EMAIL || type == SAN_URI)
                            && san.get(1) instanceof String name) {
                        names.add(name);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw refusal("the signing certificate's subject alternative names cannot be read: " + reason(e));
        }
        if (names.size() != 1) {
            throw refusal("the signing certificate must name exactly one email or URI identity; it names " + names.size());
        }
        String issuer = issuer(leaf);
        if (issuer == null || issuer.isEmpty()) {
            throw refusal("the signing certificate names no OIDC issuer (extension " + OID_ISSUER_V1 + ")");
        }
        return new Signer(names.get(0), issuer);
    }

    // getExtensionValue gives the extnValue OCTET STRING; v1 holds the URL's bytes, v2 a UTF8String inside it.
    private static String issuer(X509Certificate leaf) throws DatasetException {
        byte[] v1 = leaf.getExtensionValue(OID_ISSUER_V1);
        if (v1 != null) {
            return utf8(derContents(v1, 0x04));
        }
        byte[] v2 = leaf.getExtensionValue(OID_ISSUER_V2);
        return v2 == null ? null : utf8(derContents(derContents(v2, 0x04), 0x0C));
    }

    private static byte[] derContents(byte[] der, int tag) throws DatasetException {
        if (der.length < 2 || (der[0] & 0xFF) != tag) {
            throw refusal("the signing certificate's issuer extension is malformed");
        }
        int length = der[1] & 0xFF;
        int offset = 2;
        if (length > 0x7F) {
            int octets = length & 0x7F;
            if (octets == 0 || octets > 3 || der.length < 2 + octets) {
                throw refusal("the signing certificate's issuer extension is malformed");
            }
            length = 0;
            for (int i = 0; i < octets; i++) {
                length = (length << 8) | (der[2 + i] & 0xFF);
            }
            offset += octets;
        }
        if (offset + length != der.length) {
            throw refusal("the signing certificate's issuer extension is malformed");
        }
        return java.util.Arrays.copyOfRange(der, offset, der.length);
    }

    private static String utf8(byte[] bytes) throws DatasetException {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw refusal("the signing certificate's issuer is not UTF-8");
        }
    }

    static DatasetException refusal(String reason) {
        return new DatasetException(DatasetException.Kind.INVALID, DatasetException.FIELD_SIGNATURE, reason);
    }

    /** A library exception and its causes as one bounded line (their messages name digests, never content). */
    static String reason(Throwable e) {
        StringBuilder out = new StringBuilder();
        Throwable t = e;
        for (int depth = 0; t != null && depth < 5 && out.length() < MAX_REASON; depth++, t = t.getCause()) {
            if (t.getMessage() == null || t.getMessage().isBlank()) {
                continue;
            }
            String message = t.getMessage().replaceAll("\\s*\\R\\s*", "; ").strip();
            if (out.indexOf(message) < 0) {
                out.append(out.length() == 0 ? "" : ": ").append(message);
            }
        }
        if (out.length() == 0) {
            return "no details given";
        }
        return out.length() > MAX_REASON ? out.substring(0, MAX_REASON) + "..." : out.toString();
    }
}
