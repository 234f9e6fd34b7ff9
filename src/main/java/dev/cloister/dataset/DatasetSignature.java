package dev.cloister.dataset;

/**
 * A dataset's Sigstore signature, as verified: who signed (the certificate's identity and OIDC issuer), which file
 * the bundle signs, and the bundle itself, kept so that admission can verify it again against the job's policy.
 *
 * @param identity   the signing certificate's subject alternative name (an email or a URI, e.g. a CI workflow)
 * @param issuer     the OIDC issuer Fulcio recorded in the certificate (OID 1.3.6.1.4.1.57264.1.1)
 * @param signedFile the dataset-relative file whose bytes the bundle signs: the single data file, or
 *                   {@value SignedContent#MANIFEST}
 * @param source     where the bundle came from
 * @param bundleJson the Sigstore bundle exactly as registered (public data; not part of {@link #toString()})
 */
public record DatasetSignature(String identity, String issuer, String signedFile, Source source, String bundleJson) {

    /** Where a dataset's bundle was found at registration. */
    public enum Source {
        /** The {@code signature} object of the registration request. */
        REQUEST,
        /** The file {@code <datasets root>/<name>.sigstore.json} beside the dataset directory. */
        BESIDE_DATA
    }

    @Override
    public String toString() {
        return "DatasetSignature[identity=" + identity + ", issuer=" + issuer + ", signedFile=" + signedFile
                + ", source=" + source + "]";
    }
}
