package dev.cloister.verify;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.Dsse;
import dev.sigstore.proto.bundle.v1.Bundle;
import dev.sigstore.proto.bundle.v1.VerificationMaterial;
import io.intoto.EnvelopeOuterClass.Envelope;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.SignatureException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Checks a key-based Sigstore bundle holding a DSSE envelope and yields its payload only once the signature over
 * the PAE verifies with the pinned key. The bundle JSON is read into the Sigstore protobuf-specs types, which
 * reject unknown and duplicate fields.
 */
final class SignedBundle {

    /** v0.3 has two spellings in the Sigstore bundle spec. */
    private static final Set<String> MEDIA_TYPES = Set.of(Bundles.MEDIA_TYPE,
            "application/vnd.dev.sigstore.bundle+json;version=0.3");

    private SignedBundle() {
    }

    /**
     * @param reasons receives every non-fatal problem (media type, key hint); the caller fails if it is not empty
     * @return the verified payload
     * @throws VerificationException if the bundle cannot be read or the signature does not verify
     */
    static byte[] verifiedPayload(byte[] bundleJson, PublicKeyPem key, List<String> reasons)
            throws VerificationException {
        Bundle bundle = parse(bundleJson);
        List<String> fatal = new ArrayList<>();
        if (!MEDIA_TYPES.contains(bundle.getMediaType())) {
            reasons.add("bundle media type '" + bundle.getMediaType() + "' is not " + Bundles.MEDIA_TYPE);
        }
        boolean keyBased = checkVerificationMaterial(bundle, key, reasons, fatal);
        boolean verified = false;
        if (bundle.getContentCase() != Bundle.ContentCase.DSSE_ENVELOPE) {
            fatal.add(bundle.getContentCase() == Bundle.ContentCase.MESSAGE_SIGNATURE
                    ? "the bundle holds a message signature, not a DSSE envelope"
                    : "the bundle holds no DSSE envelope");
        } else {
            // Checking a certificate-signed envelope against the pinned key would only add a misleading reason.
            verified = checkEnvelope(bundle.getDsseEnvelope(), key, keyBased, fatal);
        }
        if (!fatal.isEmpty() || !verified) {
            List<String> all = new ArrayList<>(reasons);
            all.addAll(fatal);
            if (all.isEmpty()) {
                all.add("the DSSE signature was not verified");
            }
            throw new VerificationException(all);
        }
        return bundle.getDsseEnvelope().getPayload().toByteArray();
    }

    private static Bundle parse(byte[] bundleJson) throws VerificationException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bundleJson)).toString();
        } catch (CharacterCodingException e) {
            throw new VerificationException("the bundle is not UTF-8 text", e);
        }
        if (text.isBlank()) {
            throw new VerificationException("the bundle is empty");
        }
        Bundle.Builder builder = Bundle.newBuilder();
        try {
            JsonFormat.parser().merge(text, builder);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new VerificationException("the bundle is not a Sigstore bundle in JSON (truncated or malformed): "
                    + e.getMessage(), e);
        }
        return builder.build();
    }

    /** @return whether the bundle is key-based, so that its signature can be checked with the pinned key */
    private static boolean checkVerificationMaterial(Bundle bundle, PublicKeyPem key, List<String> reasons,
                                                     List<String> fatal) {
        if (!bundle.hasVerificationMaterial()) {
            fatal.add("the bundle has no verification material");
            return false;
        }
        VerificationMaterial material = bundle.getVerificationMaterial();
        switch (material.getContentCase()) {
            case PUBLIC_KEY -> {
                String hint = material.getPublicKey().getHint();
                // The hint is not signed; it only has to agree with the pinned key when present.
                if (!hint.isEmpty() && !hint.equals(key.keyId().hex())) {
                    reasons.add("the bundle's key hint " + hint + " is not the id " + key.keyId()
                            + " of the given public key");
                }
                return true;
            }
            case X509_CERTIFICATE_CHAIN, CERTIFICATE -> {
                fatal.add("the bundle is signed with a certificate, not a public key: only key-based bundles are "
                        + "accepted");
                return false;
            }
            default -> {
                fatal.add("the bundle's verification material names no public key");
                return false;
            }
        }
    }

    /** @return whether the one signature verified with the pinned key */
    private static boolean checkEnvelope(Envelope envelope, PublicKeyPem key, boolean checkSignature,
                                         List<String> fatal) {
        if (!Dsse.IN_TOTO_PAYLOAD_TYPE.equals(envelope.getPayloadType())) {
            fatal.add("DSSE payload type '" + envelope.getPayloadType() + "' is not " + Dsse.IN_TOTO_PAYLOAD_TYPE);
        }
        if (envelope.getSignaturesCount() != 1) {
            fatal.add("the DSSE envelope has " + envelope.getSignaturesCount()
                    + " signatures, expected exactly one");
            return false;
        }
        if (!checkSignature) {
            return false;
        }
        byte[] pae = Dsse.pae(envelope.getPayloadType(), envelope.getPayload().toByteArray());
        byte[] signature = envelope.getSignatures(0).getSig().toByteArray();
        String algorithm = key.signatureAlgorithm().orElse(null);
        if (algorithm == null) {
            fatal.add("the public key's curve (" + key.fieldSize() + "-bit field) is not P-256, P-384 or P-521");
            return false;
        }
        try {
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(key.publicKey());
            verifier.update(pae);
            if (verifier.verify(signature)) {
                return true;
            }
            fatal.add("the DSSE signature does not verify with public key " + key.keyId()
                    + ": the payload or signature was altered, or another key signed it");
        } catch (SignatureException e) {
            fatal.add("the DSSE signature is not a DER-encoded ECDSA signature for public key " + key.keyId());
        } catch (GeneralSecurityException e) {
            fatal.add("the DSSE signature cannot be checked: " + e.getMessage());
        }
        return false;
    }
}
