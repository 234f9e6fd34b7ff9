package dev.cloister.dataset;

import dev.sigstore.bundle.Bundle;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Verifies dataset signatures offline: at registration against the policies that could accept the dataset, and at
 * admission again against the job's policy. Each call returns the verified signer or throws a
 * {@link DatasetException} (field {@code signature}) with the reason; it never returns an unverified result.
 */
public final class DatasetSignatures {

    private DatasetSignatures() {
    }

    /**
     * Verifies the bundle registered with {@code dataset} against {@code requirement}, over the dataset's current
     * content, which must still have the digest taken at registration.
     *
     * @return the signature with the signer read from the verified certificate
     * @throws DatasetException why the dataset does not satisfy the requirement (unsigned, changed, refused)
     */
    public static DatasetSignature verify(Dataset dataset, SignatureRequirement requirement) throws DatasetException {
        DatasetSignature registered = dataset.signature();
        if (registered == null) {
            throw SigstoreCheck.refusal("dataset '" + dataset.name() + "' was registered without a signature");
        }
        DatasetDigest.Result scan;
        try {
            scan = DatasetDigest.of(dataset.directory());
        } catch (IOException e) {
            throw SigstoreCheck.refusal("dataset '" + dataset.name() + "' cannot be read: " + e.getMessage());
        }
        if (!scan.digest().equals(dataset.digest())) {
            throw SigstoreCheck.refusal("dataset '" + dataset.name() + "' changed since it was registered (now "
                    + scan.digest() + ", registered " + dataset.digest() + "); register it again");
        }
        SignedContent.Artifact artifact = SignedContent.of(dataset.directory(), scan);
        SigstoreCheck.Signer signer = SigstoreCheck.verify(SigstoreCheck.parse(registered.bundleJson()),
                artifact.sha256(), requirement);
        return new DatasetSignature(signer.identity(), signer.issuer(), artifact.file(), registered.source(),
                registered.bundleJson());
    }

    /**
     * Verifies a bundle over a freshly scanned dataset; accepted when any one of {@code candidates} (keyed by the
     * policy that states it) accepts it.
     */
    static DatasetSignature verify(Path dir, DatasetDigest.Result scan, String bundleJson, DatasetSignature.Source source,
                                   Map<String, SignatureRequirement> candidates) throws DatasetException {
        if (candidates.isEmpty()) {
            throw SigstoreCheck.refusal("no policy sets requireDatasetSignature, so there is no trusted root or "
                    + "identity to verify the signature against");
        }
        SignedContent.Artifact artifact = SignedContent.of(dir, scan);
        Bundle bundle = SigstoreCheck.parse(bundleJson);
        List<String> refusals = new ArrayList<>();
        for (Map.Entry<String, SignatureRequirement> c : candidates.entrySet()) {
            try {
                SigstoreCheck.Signer signer = SigstoreCheck.verify(bundle, artifact.sha256(), c.getValue());
                return new DatasetSignature(signer.identity(), signer.issuer(), artifact.file(), source, bundleJson);
            } catch (DatasetException e) {
                refusals.add(candidates.size() == 1 ? e.getMessage() : "policy '" + c.getKey() + "': " + e.getMessage());
            }
        }
        throw SigstoreCheck.refusal(candidates.size() == 1
                ? "policy '" + candidates.keySet().iterator().next() + "' refuses it: " + refusals.get(0)
                : "no policy accepts it: " + String.join("; ", refusals));
    }
}
