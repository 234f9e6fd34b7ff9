package dev.cloister.seal;

import dev.cloister.keys.KeyId;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.keys.Signer;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;

/** A P-256 signer over a JDK key pair, so seal tests need no key directory. */
public final class TestSigner implements Signer {

    private final KeyPair pair;
    private final PublicKeyPem publicKey;

    public TestSigner() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            pair = generator.generateKeyPair();
            publicKey = PublicKeyPem.of(pair.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] sign(byte[] data) {
        try {
            Signature signature = Signature.getInstance("SHA256withECDSA");
            signature.initSign(pair.getPrivate());
            signature.update(data);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    boolean verify(byte[] data, byte[] signature) throws GeneralSecurityException {
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(pair.getPublic());
        verifier.update(data);
        return verifier.verify(signature);
    }

    @Override
    public KeyId keyId() {
        return publicKey.keyId();
    }

    @Override
    public String publicKeyPem() {
        return publicKey.text();
    }
}
