package dev.cloister.audit;

import dev.cloister.keys.KeyId;

import java.util.OptionalLong;
import java.util.Set;

/**
 * What a verified audit export holds.
 *
 * @param entries        lines in the export, checkpoints included
 * @param firstSeq       sequence number of the first entry (1 unless a segment was verified)
 * @param lastSeq        sequence number of the last entry
 * @param headHash       hash of the last entry
 * @param checkpoints    checkpoints whose signature verified
 * @param lastCheckpoint sequence number of the last checkpoint entry, if any; it signs every entry before it
 * @param unsigned       entries after the last checkpoint (all of them when there is none): hash-chained, but
 *                       covered by no signature, so a writer of the file could have rewritten them
 * @param signedBy       the keys that signed the checkpoints
 */
public record AuditReport(long entries, long firstSeq, long lastSeq, String headHash, int checkpoints,
                          OptionalLong lastCheckpoint, long unsigned, Set<KeyId> signedBy) {

    public AuditReport {
        signedBy = Set.copyOf(signedBy);
    }
}
