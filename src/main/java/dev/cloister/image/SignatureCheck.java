package dev.cloister.image;

import dev.cloister.digest.Digest;
import dev.cloister.image.ImageVerificationException.Check;
import dev.cloister.image.ImageVerificationException.Failure;
import dev.cloister.keys.PublicKeyPem;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * cosign's signature check (as {@code cosign verify --key}), plus the repository: some simple-signing layer at
 * {@code sha256-<hex>.sig} verifies with the pinned key and names exactly this digest and this repository. A
 * signature copied from another image verifies but names the other digest; that is reported as such.
 */
final class SignatureCheck {

    private SignatureCheck() {
    }

    static void run(ArtifactReader reader, Digest digest, PublicKeyPem key, List<Failure> failures) {
        ImageReference image = reader.image();
        String tag = CosignLayout.signatureTag(digest);
        String where = image.name() + ":" + tag;
        Optional<RegistryClient.Manifest> manifest = reader.manifest(tag, Check.SIGNATURE_INVALID);
        if (manifest == null) {
            return;
        }
        if (manifest.isEmpty()) {
            failures.add(new Failure(Check.SIGNATURE_MISSING, "no signature: " + where + " does not exist, so the "
                    + "image at " + digest + " was never signed" + image.tag().map(t -> " (if '" + t + "' was "
                    + "signed before, a different image has since been pushed under that tag)").orElse("")));
            return;
        }
        List<Failure> problems = new ArrayList<>();
        List<String> malformed = new ArrayList<>();
        List<CosignLayout.Descriptor> layers = CosignLayout.layers(manifest.get().bytes(), malformed);
        malformed.forEach(p -> problems.add(new Failure(Check.SIGNATURE_INVALID, "signature " + where + ": " + p)));
        int n = 0;
        for (CosignLayout.Descriptor layer : layers) {
            if (!CosignLayout.SIMPLE_SIGNING_MEDIA_TYPE.equals(layer.mediaType())) {
                continue;
            }
            n++;
            String which = "signature " + where + " (layer " + n + ")";
            if (layerMatches(reader, layer, which, digest, key, problems)) {
                return; // one good signature by the pinned key is enough, as in cosign
            }
        }
        if (n == 0) {
            problems.add(new Failure(Check.SIGNATURE_INVALID, "signature " + where + " holds no "
                    + CosignLayout.SIMPLE_SIGNING_MEDIA_TYPE + " layer"));
        }
        failures.addAll(problems);
    }

    private static boolean layerMatches(ArtifactReader reader, CosignLayout.Descriptor layer, String which,
                                        Digest digest, PublicKeyPem key, List<Failure> problems) {
        byte[] payload = reader.blob(layer, Check.SIGNATURE_INVALID, which, problems);
        if (payload == null) {
            return false;
        }
        byte[] signature = base64(layer.annotations().get(CosignLayout.SIGNATURE_ANNOTATION));
        if (signature == null) {
            problems.add(new Failure(Check.SIGNATURE_INVALID, which + " has no base64 "
                    + CosignLayout.SIGNATURE_ANNOTATION + " annotation"));
            return false;
        }
        if (!key.verifies(payload, signature)) {
            problems.add(new Failure(Check.SIGNATURE_INVALID, which + " does not verify with the pinned key "
                    + key.keyId() + ": it was made by another key, or its payload was altered"));
            return false;
        }
        CosignLayout.SimpleSigning signed = CosignLayout.readPayload(payload);
        if (signed == null || !CosignLayout.SIGNATURE_TYPE.equals(signed.type())) {
            problems.add(new Failure(Check.SIGNATURE_INVALID, which + " is not a '" + CosignLayout.SIGNATURE_TYPE
                    + "' payload"));
            return false;
        }
        boolean matches = true;
        if (!digest.toString().equals(signed.manifestDigest())) {
            problems.add(new Failure(Check.SIGNATURE_MISMATCH, which + " signs image " + signed.manifestDigest()
                    + ", not " + digest + ": the signature was copied from another image"));
            matches = false;
        }
        if (!reader.image().name().equals(signed.dockerReference())) {
            problems.add(new Failure(Check.SIGNATURE_MISMATCH, which + " is for repository '"
                    + signed.dockerReference() + "', not " + reader.image().name()));
            matches = false;
        }
        return matches;
    }

    private static byte[] base64(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
