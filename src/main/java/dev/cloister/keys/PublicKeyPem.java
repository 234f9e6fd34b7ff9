package dev.cloister.keys;

import dev.cloister.digest.Digest;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * An EC public key in canonical PEM text: {@code -----BEGIN PUBLIC KEY-----}, the SubjectPublicKeyInfo DER in
 * base64 lines of 64 columns, {@code -----END PUBLIC KEY-----}, LF line endings and a trailing LF. The key id is the
 * SHA-256 of exactly this text (DESIGN.md, "Formats"; OMS v1.0 key hint), so {@link #parse} rewrites any other
 * layout (CRLF, other line widths, text around the block) into it.
 */
public final class PublicKeyPem {

    static final String BEGIN = "-----BEGIN PUBLIC KEY-----";
    static final String END = "-----END PUBLIC KEY-----";
    private static final int MAX_TEXT_CHARS = 64 * 1024;

    private final byte[] spki;
    private final String text;
    private final ECPublicKey key;

    private PublicKeyPem(byte[] spki, ECPublicKey key) {
        this.spki = spki.clone();
        this.key = key;
        this.text = Pem.encode("PUBLIC KEY", spki);
    }

    /**
     * Reads the single {@code PUBLIC KEY} PEM block in {@code text} (text around it, such as a key tool's
     * description, is ignored) and checks that it is an EC key.
     *
     * @throws IllegalArgumentException if there is no such block, more than one, or it is not an EC public key
     */
    public static PublicKeyPem parse(String text) {
        if (text == null || text.length() > MAX_TEXT_CHARS) {
            throw new IllegalArgumentException("public key PEM is missing or longer than " + MAX_TEXT_CHARS
                    + " characters");
        }
        int begin = text.indexOf(BEGIN);
        if (begin < 0) {
            throw new IllegalArgumentException("no '" + BEGIN + "' block in the public key text");
        }
        if (text.indexOf(BEGIN, begin + BEGIN.length()) >= 0) {
            throw new IllegalArgumentException("more than one public key block in the public key text");
        }
        int end = text.indexOf(END, begin);
        if (end < 0) {
            throw new IllegalArgumentException("the public key block has no '" + END + "' line");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(begin + BEGIN.length(), end).strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the public key block is not valid base64", e);
        }
        return of(der);
    }

    /** Wraps a SubjectPublicKeyInfo DER encoding of an EC public key. */
    public static PublicKeyPem of(byte[] subjectPublicKeyInfo) {
        try {
            PublicKey key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(subjectPublicKeyInfo));
            if (!(key instanceof ECPublicKey ec)) {
                throw new IllegalArgumentException("the public key is not an EC key");
            }
            return new PublicKeyPem(subjectPublicKeyInfo, ec);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the public key is not an EC SubjectPublicKeyInfo", e);
        }
    }

    /** Wraps a JCA EC public key. */
    public static PublicKeyPem of(PublicKey key) {
        return of(key.getEncoded());
    }

    /** The canonical PEM text. */
    public String text() {
        return text;
    }

    /** SHA-256 of {@link #text()} as UTF-8 (it is ASCII). */
    public KeyId keyId() {
        return new KeyId(Digest.of(text.getBytes(StandardCharsets.US_ASCII)).hex());
    }

    /** The key as a JCA object, for signature verification. */
    public ECPublicKey publicKey() {
        return key;
    }

    /** Size in bits of the curve's field: 256 for P-256, 384 for P-384, 521 for P-521. */
    public int fieldSize() {
        return key.getParams().getCurve().getField().getFieldSize();
    }

    /**
     * The JCA ECDSA algorithm for this key: the hash goes with the curve (DESIGN.md "Formats"; cosign: P-256 with
     * SHA-256), so P-384 reference vectors verify too. Empty for any other curve.
     */
    public java.util.Optional<String> signatureAlgorithm() {
        return java.util.Optional.ofNullable(switch (fieldSize()) {
            case 256 -> "SHA256withECDSA";
            case 384 -> "SHA384withECDSA";
            case 521 -> "SHA512withECDSA";
            default -> null;
        });
    }

    /** Whether {@code signature} is a DER ECDSA signature by this key over {@code data}; anything else is false. */
    public boolean verifies(byte[] data, byte[] signature) {
        if (signatureAlgorithm().isEmpty()) {
            return false;
        }
        try {
            java.security.Signature verifier = java.security.Signature.getInstance(signatureAlgorithm().get());
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (java.security.GeneralSecurityException e) {
            return false; // not DER, or not a signature for this key: either way it does not verify
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PublicKeyPem other && Arrays.equals(spki, other.spki);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(spki);
    }

    @Override
    public String toString() {
        return "PublicKeyPem[keyId=" + keyId() + "]";
    }
}
