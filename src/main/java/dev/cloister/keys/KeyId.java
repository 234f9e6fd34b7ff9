package dev.cloister.keys;

import java.util.regex.Pattern;

/**
 * Identifies a public key: the lowercase hex SHA-256 of its canonical PEM text (see {@link PublicKeyPem}), which is
 * also the {@code verificationMaterial.publicKey.hint} of the bundles it signs (OMS v1.0, key-based).
 */
public record KeyId(String hex) {

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    public KeyId {
        if (hex == null || !HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException("not a key id: expected 64 lowercase hex characters");
        }
    }

    /** Parses a key id as printed by {@link #toString()}. */
    public static KeyId parse(String hex) {
        return new KeyId(hex);
    }

    @Override
    public String toString() {
        return hex;
    }
}
