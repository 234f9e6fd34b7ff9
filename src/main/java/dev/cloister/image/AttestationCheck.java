package dev.cloister.image;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.image.ImageVerificationException.Check;
import dev.cloister.image.ImageVerificationException.Failure;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.seal.Dsse;
import dev.cloister.seal.Provenance;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * cosign's attestation check (as {@code cosign verify-attestation --key --type slsaprovenance1}), plus the
 * repository: some SLSA v1 DSSE layer at {@code sha256-<hex>.att} verifies with the pinned key, and its statement's
 * one subject is this repository at this digest. An attestation copied from another image verifies but names the
 * other digest; that is reported as such.
 */
final class AttestationCheck {

    private AttestationCheck() {
    }

    /** @return the claims of the last matching layer, or null (with every reason in {@code failures}) */
    static ImageProvenance.Claims run(ArtifactReader reader, Digest digest, PublicKeyPem key, List<Failure> failures) {
        ImageReference image = reader.image();
        String tag = CosignLayout.attestationTag(digest);
        String where = image.name() + ":" + tag;
        Optional<RegistryClient.Manifest> manifest = reader.manifest(tag, Check.ATTESTATION_INVALID);
        if (manifest == null) {
            return null;
        }
        if (manifest.isEmpty()) {
            failures.add(new Failure(Check.ATTESTATION_MISSING, "no attestation: " + where + " does not exist, so "
                    + "nothing states how the image at " + digest + " was built"));
            return null;
        }
        List<Failure> problems = new ArrayList<>();
        List<String> malformed = new ArrayList<>();
        List<CosignLayout.Descriptor> layers = CosignLayout.layers(manifest.get().bytes(), malformed);
        malformed.forEach(p -> problems.add(new Failure(Check.ATTESTATION_INVALID, "attestation " + where + ": " + p)));
        ImageProvenance.Claims verified = null;
        int n = 0;
        for (CosignLayout.Descriptor layer : layers) {
            String predicateType = layer.annotations().get(CosignLayout.PREDICATE_TYPE_ANNOTATION);
            if (!CosignLayout.DSSE_MEDIA_TYPE.equals(layer.mediaType())
                    || (predicateType != null && !predicateType.equals(Provenance.PREDICATE_TYPE))) {
                continue; // other attestations (an SBOM, say) are not Cloister's to judge
            }
            n++;
            ImageProvenance.Claims claims = layerClaims(reader, layer, "attestation " + where + " (layer " + n + ")",
                    digest, key, problems);
            if (claims != null) {
                verified = claims;
            }
        }
        if (verified != null) {
            return verified;
        }
        if (n == 0) {
            problems.add(new Failure(Check.ATTESTATION_INVALID, "attestation " + where + " holds no "
                    + Provenance.PREDICATE_TYPE + " DSSE layer"));
        }
        failures.addAll(problems);
        return null;
    }

    private static ImageProvenance.Claims layerClaims(ArtifactReader reader, CosignLayout.Descriptor layer,
                                                      String which, Digest digest, PublicKeyPem key,
                                                      List<Failure> problems) {
        byte[] json = reader.blob(layer, Check.ATTESTATION_INVALID, which, problems);
        if (json == null) {
            return null;
        }
        CosignLayout.Envelope envelope = CosignLayout.readEnvelope(json);
        if (envelope == null) {
            problems.add(new Failure(Check.ATTESTATION_INVALID, which + " is not a DSSE envelope"));
            return null;
        }
        if (!Dsse.IN_TOTO_PAYLOAD_TYPE.equals(envelope.payloadType())) {
            problems.add(new Failure(Check.ATTESTATION_INVALID, which + " has payload type '"
                    + envelope.payloadType() + "', not " + Dsse.IN_TOTO_PAYLOAD_TYPE));
            return null;
        }
        byte[] pae = Dsse.pae(envelope.payloadType(), envelope.payload());
        if (envelope.signatures().stream().noneMatch(s -> key.verifies(pae, s))) {
            problems.add(new Failure(Check.ATTESTATION_INVALID, which + " does not verify with the pinned key "
                    + key.keyId() + ": it was made by another key, or its statement was altered"));
            return null;
        }
        ObjectNode statement = Json.readObject(envelope.payload());
        if (statement == null) {
            problems.add(new Failure(Check.ATTESTATION_INVALID, which + " signs something that is not JSON"));
            return null;
        }
        List<String> claimProblems = new ArrayList<>();
        ImageProvenance.Claims claims = ImageProvenance.claims(statement, claimProblems);
        claimProblems.forEach(p -> problems.add(new Failure(Check.ATTESTATION_INVALID, which + ": " + p)));
        if (!claimProblems.isEmpty()) {
            return null;
        }
        boolean matches = true;
        if (!digest.equals(claims.subjectDigest())) {
            problems.add(new Failure(Check.ATTESTATION_MISMATCH, which + " is about image " + claims.subjectDigest()
                    + ", not " + digest + ": it was copied from another image"));
            matches = false;
        }
        if (!reader.image().name().equals(claims.subjectName())) {
            problems.add(new Failure(Check.ATTESTATION_MISMATCH, which + " is about repository '"
                    + claims.subjectName() + "', not " + reader.image().name()));
            matches = false;
        }
        return matches ? claims : null;
    }
}
