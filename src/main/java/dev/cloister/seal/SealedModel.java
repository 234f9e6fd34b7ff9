package dev.cloister.seal;

import dev.cloister.keys.KeyId;

import java.nio.file.Path;

/**
 * A model that has been sealed: where its signature was written, what it covers and which key signed it.
 *
 * @param signatureFile the bundle file ({@code model.sig} in the model directory)
 * @param manifest      the files and digests that were signed
 * @param keyId         the signing key's id (the bundle's key hint)
 */
public record SealedModel(Path signatureFile, ModelManifest manifest, KeyId keyId) {
}
