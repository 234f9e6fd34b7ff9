package dev.cloister.keys;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.util.io.pem.PemObject;

import java.io.IOException;
import java.io.StringReader;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;

/**
 * Bouncy Castle operations on private keys: P-256 generation, encrypted PKCS#8 PEM writing, and reading any
 * private key PEM (PKCS#8 plain or encrypted, OpenSSL traditional plain or encrypted). Error messages never
 * contain key material or the passphrase.
 */
final class PrivateKeys {

    /** A provider instance, not registered globally: other code keeps the JDK's provider order. */
    static final Provider BC = new BouncyCastleProvider();

    /** PBKDF2-HMAC-SHA256 iterations for the encrypted PKCS#8 (OWASP 2023 recommendation). */
    static final int PBKDF2_ITERATIONS = 600_000;

    private static final int MAX_PEM_CHARS = 64 * 1024;

    private PrivateKeys() {
    }

    /** Generates an ECDSA P-256 key pair with Bouncy Castle. */
    static KeyPair generateP256() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", BC);
            generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Bouncy Castle cannot generate P-256 keys", e);
        }
    }

    /** PKCS#8 encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), as PEM ("ENCRYPTED PRIVATE KEY"). */
    static String encryptedPem(PrivateKey key, char[] passphrase) throws KeyException {
        try {
            OutputEncryptor encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                    .setPRF(PKCS8Generator.PRF_HMACSHA256)
                    .setIterationCount(PBKDF2_ITERATIONS)
                    .setRandom(new SecureRandom())
                    .setProvider(BC)
                    .setPassword(passphrase)
                    .build();
            PemObject pem = new PKCS8Generator(PrivateKeyInfo.getInstance(key.getEncoded()), encryptor).generate();
            return Pem.encode(pem.getType(), pem.getContent());
        } catch (OperatorCreationException | IOException e) {
            throw new KeyException("cannot encrypt the private key", e);
        }
    }

    /**
     * Reads the first private key in {@code pem}; {@code passphrase} may be null for an unencrypted key.
     *
     * @return the private key and its public key (derived from the private key, not taken on trust)
     */
    static KeyPair read(String pem, char[] passphrase) throws KeyException {
        if (pem == null || pem.length() > MAX_PEM_CHARS) {
            throw new KeyException("private key PEM is missing or longer than " + MAX_PEM_CHARS + " characters");
        }
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter().setProvider(BC);
            for (Object item = parser.readObject(); item != null; item = parser.readObject()) {
                PrivateKey key;
                if (item instanceof PKCS8EncryptedPrivateKeyInfo encrypted) {
                    requirePassphrase(passphrase);
                    key = converter.getPrivateKey(encrypted.decryptPrivateKeyInfo(
                            new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(passphrase)));
                } else if (item instanceof PrivateKeyInfo plain) {
                    key = converter.getPrivateKey(plain);
                } else if (item instanceof PEMEncryptedKeyPair encrypted) {
                    requirePassphrase(passphrase);
                    key = converter.getPrivateKey(encrypted.decryptKeyPair(
                            new JcePEMDecryptorProviderBuilder().setProvider(BC).build(passphrase)).getPrivateKeyInfo());
                } else if (item instanceof PEMKeyPair pair) {
                    // The public key is optional in a traditional EC key: derive it below instead.
                    key = converter.getPrivateKey(pair.getPrivateKeyInfo());
                } else {
                    continue;
                }
                return new KeyPair(publicKeyOf(key), key);
            }
            throw new KeyException("no private key in the PEM text");
        } catch (PKCSException | OperatorCreationException | org.bouncycastle.openssl.EncryptionException e) {
            throw new KeyException("cannot decrypt the private key: wrong passphrase or damaged file", e);
        } catch (IOException e) {
            // BC reports a wrong passphrase of a traditional OpenSSL key as an IOException too.
            throw new KeyException("cannot read the private key PEM: wrong passphrase or damaged file", e);
        }
    }

    /** Whether {@code key} is on P-256, the only curve Cloister signs with (DESIGN.md, "Formats"). */
    static boolean isP256(PrivateKey key) {
        if (!(key instanceof ECPrivateKey ec)) {
            return false;
        }
        ECParameterSpec p256 = p256();
        ECParameterSpec params = ec.getParams();
        return params.getCurve().equals(p256.getCurve()) && params.getGenerator().equals(p256.getGenerator())
                && params.getOrder().equals(p256.getOrder());
    }

    private static void requirePassphrase(char[] passphrase) throws KeyException {
        if (passphrase == null || passphrase.length == 0) {
            throw new KeyException("the private key is encrypted and no passphrase was given");
        }
    }

    /** Q = d·G, encoded by the JDK so that a named curve keeps its OID (and the key id stays stable). */
    private static PublicKey publicKeyOf(PrivateKey key) throws KeyException {
        if (!(key instanceof ECPrivateKey ec)) {
            throw new KeyException("the private key is not an EC key (" + key.getAlgorithm() + ")");
        }
        try {
            ECParameterSpec params = ec.getParams();
            org.bouncycastle.math.ec.ECPoint q = EC5Util.convertSpec(params).getG().multiply(ec.getS()).normalize();
            ECPoint point = new ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, params));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new KeyException("cannot derive the public key: unsupported curve", e);
        }
    }

    private static ECParameterSpec p256() {
        try {
            AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
            parameters.init(new ECGenParameterSpec("secp256r1"));
            return parameters.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java platform provides P-256", e);
        }
    }
}
