package dev.cloister.seal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.cloister.keys.Signer;
import dev.sigstore.proto.bundle.v1.Bundle;
import dev.sigstore.proto.bundle.v1.VerificationMaterial;
import dev.sigstore.proto.common.v1.PublicKeyIdentifier;
import io.intoto.EnvelopeOuterClass.Envelope;
import io.intoto.EnvelopeOuterClass.Signature;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Key-based Sigstore bundles (v0.3) holding a DSSE envelope, as OMS v1.0 and DESIGN.md "Formats" define them:
 * {@code verificationMaterial = {publicKey: {hint: key id}, tlogEntries: []}} and exactly one signature with an
 * empty {@code keyid}. The JSON is printed from the Sigstore protobuf-specs message types.
 */
public final class Bundles {

    /** Sigstore bundle v0.3 media type. */
    public static final String MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Bundles() {
    }

    /**
     * Signs an in-toto statement (DSSE over its exact bytes) and returns the bundle JSON (UTF-8). Works for any
     * predicate: the OMS model signature, the SLSA provenance.
     *
     * @throws IllegalArgumentException if the bytes are not an in-toto Statement v1 JSON object
     */
    public static byte[] signStatement(Signer signer, byte[] statementJson) {
        requireStatement(statementJson);
        byte[] signature = signer.sign(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, statementJson));
        Bundle bundle = Bundle.newBuilder()
                .setMediaType(MEDIA_TYPE)
                .setVerificationMaterial(VerificationMaterial.newBuilder()
                        .setPublicKey(PublicKeyIdentifier.newBuilder().setHint(signer.keyId().hex())))
                .setDsseEnvelope(Envelope.newBuilder()
                        .setPayload(ByteString.copyFrom(statementJson))
                        .setPayloadType(Dsse.IN_TOTO_PAYLOAD_TYPE)
                        .addSignatures(Signature.newBuilder().setSig(ByteString.copyFrom(signature)).setKeyid("")))
                .build();
        try {
            // Fields without presence are printed too: the format shows "tlogEntries": [] and "keyid": "".
            return JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(bundle)
                    .getBytes(StandardCharsets.UTF_8);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print a Sigstore bundle", e);
        }
    }

    private static void requireStatement(byte[] statementJson) {
        JsonNode statement;
        try {
            statement = JSON.readTree(statementJson);
        } catch (IOException e) {
            throw new IllegalArgumentException("the statement is not JSON", e);
        }
        if (statement == null || !OmsStatement.STATEMENT_TYPE.equals(statement.path("_type").asText())) {
            throw new IllegalArgumentException("the statement is not an in-toto " + OmsStatement.STATEMENT_TYPE);
        }
    }
}
