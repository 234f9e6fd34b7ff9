package dev.cloister.keys;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;

/** ECDSA P-256 / SHA-256 signer over a private key that never leaves this object. */
final class EcSigner implements Signer {

    private final PrivateKey privateKey;
    private final PublicKeyPem publicKey;

    EcSigner(PrivateKey privateKey, PublicKeyPem publicKey) {
        if (!PrivateKeys.isP256(privateKey)) {
            throw new IllegalArgumentException("Cloister signs only with ECDSA P-256 keys");
        }
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    @Override
    public byte[] sign(byte[] data) {
        try {
            Signature signature = Signature.getInstance("SHA256withECDSA", PrivateKeys.BC);
            signature.initSign(privateKey);
            signature.update(data);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ECDSA signing failed with key " + publicKey.keyId(), e);
        }
    }

    @Override
    public KeyId keyId() {
        return publicKey.keyId();
    }

    @Override
    public String publicKeyPem() {
        return publicKey.text();
    }

    /** Only for encrypting it into the key directory. */
    PrivateKey privateKey() {
        return privateKey;
    }

    @Override
    public String toString() {
        return "Signer[keyId=" + publicKey.keyId() + "]";
    }
}
