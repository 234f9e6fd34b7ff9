package dev.cloister.job;

import dev.cloister.verify.VerificationException;

import java.nio.file.Path;

/**
 * Verifies a sealed directory before its job may be marked SEALED: the model signature, the signed provenance and the
 * files on disk, with the public key that signed them. Returns only when everything verifies.
 */
@FunctionalInterface
public interface SealCheck {

    void verify(Path sealedDir, String keyId) throws VerificationException;
}
