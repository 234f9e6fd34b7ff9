package dev.cloister.keys;

/**
 * Signs with a host key without handing the private key out: callers only see signatures, the key id and the public
 * key.
 */
public interface Signer {

    /** Signs {@code data} with ECDSA P-256 / SHA-256 and returns the DER-encoded signature. */
    byte[] sign(byte[] data);

    /** The id of the public key that verifies these signatures. */
    KeyId keyId();

    /** The public key in canonical PEM text (see {@link PublicKeyPem}). */
    String publicKeyPem();
}
