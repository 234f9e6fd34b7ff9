package dev.cloister.keys;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One key of the host's key directory as listed in its index: retired keys keep their public key file so that older
 * seals still verify; only the active key has a private key file.
 */
public record KeyInfo(KeyId id, Instant created, boolean active, String publicKeyFile,
                      Optional<String> privateKeyFile) {

    public KeyInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(created, "created");
        Objects.requireNonNull(publicKeyFile, "publicKeyFile");
        Objects.requireNonNull(privateKeyFile, "privateKeyFile");
    }
}
