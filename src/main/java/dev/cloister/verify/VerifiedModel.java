package dev.cloister.verify;

import dev.cloister.digest.Digest;
import dev.cloister.keys.KeyId;

/**
 * What a successful model verification established.
 *
 * @param subjectName the model name the signer gave (the statement's subject name)
 * @param rootDigest  the root digest of the files on disk, equal to the signed subject digest
 * @param fileCount   how many files were compared, all matching their signed digests
 * @param keyId       the id of the public key the signature verified with
 */
public record VerifiedModel(String subjectName, Digest rootDigest, int fileCount, KeyId keyId) {
}
