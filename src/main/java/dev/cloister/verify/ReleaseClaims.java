package dev.cloister.verify;

import dev.cloister.digest.Digest;

import java.util.Optional;

/** Claims a deployer requires of a sealed model's provenance; an empty claim is not checked. */
public record ReleaseClaims(Optional<String> policy, Optional<Digest> datasetDigest, Optional<Digest> imageDigest) {

    public static final ReleaseClaims NONE = new ReleaseClaims(Optional.empty(), Optional.empty(), Optional.empty());
}
