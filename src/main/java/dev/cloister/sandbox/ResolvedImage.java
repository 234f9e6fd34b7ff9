package dev.cloister.sandbox;

import dev.cloister.digest.Digest;
import dev.cloister.policy.ImageRef;

/** A pinned image found on the host: its image ID and which kind of digest the reference pinned. */
public record ResolvedImage(ImageRef ref, Digest imageId, PinKind pinnedBy) {

    public enum PinKind {
        /** The pinned digest is the image ID (config digest): the image was built or imported locally. */
        IMAGE_ID,
        /** The pinned digest is a registry manifest digest listed in the image's RepoDigests. */
        MANIFEST_DIGEST
    }
}
