package dev.cloister.policy;

import dev.cloister.digest.Digest;

import java.util.regex.Pattern;

/**
 * An image pinned by digest: {@code repository@sha256:<hex>}. The digest is either a registry manifest digest or,
 * for images that were only built or imported locally, the image ID (digest of its config); the runtime checks
 * which one it matches and the provenance records that.
 */
public record ImageRef(String repository, Digest digest) {

    // Docker reference grammar: optional host[:port]/, then lowercase path components.
    private static final Pattern REPOSITORY = Pattern.compile(
            "(?:[a-zA-Z0-9.-]+(?::\\d{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");

    public ImageRef {
        if (repository == null || !REPOSITORY.matcher(repository).matches() || repository.length() > 255) {
            throw new IllegalArgumentException("not a valid image repository name");
        }
        if (digest == null) {
            throw new IllegalArgumentException("image must be pinned by digest");
        }
    }

    /** Parses a digest-pinned reference; a tag-only or bare reference is refused as unpinned. */
    public static ImageRef parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("image is required");
        }
        int at = text.indexOf('@');
        if (at < 0) {
            throw new IllegalArgumentException("image '" + text + "' is not pinned: write repository@sha256:<digest>");
        }
        String repo = text.substring(0, at);
        int slash = repo.lastIndexOf('/');
        if (repo.indexOf(':', slash + 1) >= 0) {
            throw new IllegalArgumentException("image '" + text + "' mixes a tag with a digest: write repository@sha256:<digest> only");
        }
        Digest digest;
        try {
            digest = Digest.parse(text.substring(at + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("image digest is malformed: " + e.getMessage());
        }
        return new ImageRef(repo, digest);
    }

    @Override
    public String toString() {
        return repository + "@" + digest;
    }
}
