package dev.cloister.audit;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.keys.HostKeys;
import dev.cloister.keys.PublicKeyPem;
import dev.cloister.seal.TestSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tampering with an export (edit, delete, insert, reorder, a cut tail, a forged checkpoint) is caught at the right
 * sequence number. The log is written with a real host key directory; checkpoints every 5 entries, so the log below
 * is: entries 1-5, checkpoint 6, 7-11, checkpoint 12, 13-17, checkpoint 18, 19-23, checkpoint 24, 25-27.
 */
class AuditVerifierTest {

    private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();

    @TempDir
    Path tmp;

    private HostKeys keys;
    private List<String> lines;

    /** A clock that moves one second per reading, so that every entry has its own time. */
    static final class SteppingClock extends Clock {
        private Instant now;

        SteppingClock(Instant start) {
            this.now = start;
        }

        @Override
        public synchronized Instant instant() {
            now = now.plusSeconds(1);
            return now;
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    @BeforeEach
    void writeLog() throws Exception {
        keys = HostKeys.open(tmp.resolve("keys"), PASSPHRASE);
        AuditLog log = new AuditLog(tmp.resolve("audit.jsonl"), new SteppingClock(Instant.parse("2025-01-02T03:04:05Z")),
                new AuditLog.Checkpoints(5, java.time.Duration.ofHours(1)));
        log.signCheckpointsWith(keys::signer);
        for (int i = 1; i <= 23; i++) {
            log.record("anonymous", "job.admit", "job-" + String.format("%032x", i), "admitted",
                    Map.of("name", "job" + i, "violations", List.of("a", "b"), "count", i));
        }
        lines = Files.readAllLines(tmp.resolve("audit.jsonl"));
        assertEquals(27, lines.size());
        assertEquals(List.of(6L, 12L, 18L, 24L), checkpointSeqs(lines));
    }

    @AfterEach
    void closeKeys() {
        keys.close();
    }

    private static List<Long> checkpointSeqs(List<String> lines) {
        return lines.stream().map(Entry::parse).filter(Entry::isCheckpoint).map(Entry::seq).toList();
    }

    private AuditReport verify(List<String> export, AuditVerifier.Options options) throws Exception {
        Path file = tmp.resolve("export.jsonl");
        Files.write(file, export);
        return new AuditVerifier(List.of(hostKey())).verify(file, options);
    }

    private AuditVerificationException refused(List<String> export) {
        return refused(export, AuditVerifier.Options.FULL);
    }

    private AuditVerificationException refused(List<String> export, AuditVerifier.Options options) {
        return assertThrows(AuditVerificationException.class, () -> verify(export, options));
    }

    private PublicKeyPem hostKey() throws Exception {
        return keys.publicKey(keys.activeKeyId());
    }

    /** Line index of entry {@code seq} in the untouched log. */
    private static int at(long seq) {
        return (int) seq - 1;
    }

    private static Entry entry(String line) {
        return Entry.parse(line);
    }

    private static Entry with(Entry e, ObjectNode details, String prevHash) {
        Entry unhashed = new Entry(e.seq(), e.time(), e.actor(), e.action(), e.subject(), e.outcome(), details, prevHash,
                Entry.GENESIS);
        return new Entry(e.seq(), e.time(), e.actor(), e.action(), e.subject(), e.outcome(), details, prevHash,
                unhashed.computedHash());
    }

    /** What an attacker who can recompute hashes does after changing line {@code from}: relink everything after it. */
    private static List<String> rechain(List<String> export, int from) {
        List<String> out = new ArrayList<>(export.subList(0, from + 1));
        String prev = entry(export.get(from)).hash();
        for (String line : export.subList(from + 1, export.size())) {
            Entry e = with(entry(line), entry(line).details(), prev);
            out.add(e.line());
            prev = e.hash();
        }
        return out;
    }

    @Test
    void theUntouchedLogVerifiesAndSaysWhatIsUnsigned() throws Exception {
        AuditReport report = verify(lines, AuditVerifier.Options.FULL);
        assertEquals(27, report.entries());
        assertEquals(1, report.firstSeq());
        assertEquals(27, report.lastSeq());
        assertEquals(entry(lines.get(26)).hash(), report.headHash());
        assertEquals(4, report.checkpoints());
        assertEquals(OptionalLong.of(24), report.lastCheckpoint());
        assertEquals(3, report.unsigned(), "entries 25-27 come after the last checkpoint");
        assertEquals(java.util.Set.of(keys.activeKeyId()), report.signedBy());
    }

    @Test
    void anEditedEntryIsNamed() {
        List<String> export = new ArrayList<>(lines);
        export.set(at(9), lines.get(at(9)).replace("\"name\":\"job", "\"name\":\"edited-job"));
        assertTrue(export.get(at(9)).contains("edited-job"));
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertEquals("entry 9: hash does not match its content (edited)", e.reasons().get(0));
    }

    @Test
    void aDeletedEntryIsNamed() {
        List<String> export = new ArrayList<>(lines);
        export.remove(at(9));
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 9 missing: seq jumps from 8 to 10 (deleted"), e.reasons().get(0));
    }

    @Test
    void anInsertedEntryWithARecomputedHashIsNamed() {
        // A forged entry 9 that links to entry 8 and hashes correctly, placed before the real entry 9.
        Entry real = entry(lines.get(at(9)));
        ObjectNode details = real.details().deepCopy().put("name", "forged");
        Entry forged = with(real, details, entry(lines.get(at(8))).hash());
        assertEquals(forged.computedHash(), forged.hash());
        List<String> export = new ArrayList<>(lines);
        export.add(at(9), forged.line());
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertEquals("entry 9: a second entry with this sequence number (inserted)", e.reasons().get(0));
    }

    @Test
    void anInsertedEntryThatDoesNotLinkIsNamed() {
        Entry real = entry(lines.get(at(9)));
        Entry forged = with(real, real.details().deepCopy().put("name", "forged"), "f".repeat(64));
        List<String> export = new ArrayList<>(lines);
        export.set(at(9), forged.line());
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 9: prevHash does not link to entry 8 (inserted or reordered"),
                e.reasons().get(0));
    }

    @Test
    void reorderedEntriesAreNamed() {
        List<String> export = new ArrayList<>(lines);
        export.set(at(9), lines.get(at(10)));
        export.set(at(10), lines.get(at(9)));
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertEquals("entry 9: out of order: entry 10 comes before it (reordered)", e.reasons().get(0));
    }

    @Test
    void aTailCutAtACheckpointIsCaughtOnlyAgainstAPinnedSequenceNumber() throws Exception {
        List<String> cut = lines.subList(0, at(18) + 1);
        AuditReport report = verify(cut, AuditVerifier.Options.FULL);
        // Honest limit: the file alone cannot show that entries 19-27 existed.
        assertEquals(18, report.lastSeq());
        assertEquals(0, report.unsigned());

        AuditVerificationException e = refused(cut, new AuditVerifier.Options(false, OptionalLong.of(27), Optional.empty()));
        assertEquals(19, e.seq());
        assertEquals("entry 19 missing: the export ends at entry 18 but entry 27 was expected (its tail was cut)",
                e.reasons().get(0));
    }

    @Test
    void aTailCutAfterACheckpointLeavesUnsignedEntriesAndFailsAPin() throws Exception {
        String head = entry(lines.get(26)).hash();
        List<String> cut = lines.subList(0, at(20) + 1);
        AuditReport report = verify(cut, AuditVerifier.Options.FULL);
        assertEquals(OptionalLong.of(18), report.lastCheckpoint());
        assertEquals(2, report.unsigned(), "entries 19 and 20");
        AuditVerificationException e = refused(cut, new AuditVerifier.Options(false, OptionalLong.of(27), Optional.of(head)));
        assertEquals(21, e.seq());
    }

    @Test
    void aPinnedHashCatchesARewrittenTail() {
        String head = entry(lines.get(26)).hash();
        List<String> export = new ArrayList<>(lines);
        Entry last = entry(lines.get(26));
        export.set(26, with(last, last.details().deepCopy().put("name", "rewritten"), last.prevHash()).line());
        AuditVerificationException e = refused(export, new AuditVerifier.Options(false, OptionalLong.of(27), Optional.of(head)));
        assertEquals(27, e.seq());
        assertTrue(e.reasons().get(0).contains("rewritten since it was pinned"), e.reasons().get(0));
    }

    @Test
    void aCheckpointSignedWithAnotherKeyIsNamed() {
        TestSigner attacker = new TestSigner();
        Entry cp = entry(lines.get(at(12)));
        ObjectNode details = Checkpoint.sign(attacker, 11, cp.prevHash(), cp.time());
        List<String> export = new ArrayList<>(lines);
        export.set(at(12), with(cp, details, cp.prevHash()).line());
        AuditVerificationException e = refused(rechain(export, at(12)));
        assertEquals(12, e.seq());
        assertEquals("checkpoint at 12: signed by key " + attacker.keyId() + ", which is not one of the given keys",
                e.reasons().get(0));
    }

    @Test
    void aCheckpointForgedUnderTheHostKeyIdIsNamed() {
        TestSigner attacker = new TestSigner();
        Entry cp = entry(lines.get(at(12)));
        ObjectNode details = cp.details().deepCopy();
        byte[] forged = attacker.sign(Checkpoint.signedBytes(11, cp.prevHash(), cp.time(), keys.activeKeyId().hex()));
        details.put("signature", Base64.getEncoder().encodeToString(forged));
        List<String> export = new ArrayList<>(lines);
        export.set(at(12), with(cp, details, cp.prevHash()).line());
        AuditVerificationException e = refused(rechain(export, at(12)));
        assertEquals(12, e.seq());
        assertEquals("checkpoint at 12: signature does not verify with key " + keys.activeKeyId()
                + " (forged, or the checkpoint was altered)", e.reasons().get(0));
    }

    @Test
    void rewritingAnEntryAndRelinkingTheChainIsCaughtAtTheNextCheckpoint() {
        // An attacker who recomputes every hash after the edit: only the signature can tell, at checkpoint 12.
        List<String> export = new ArrayList<>(lines);
        Entry e9 = entry(lines.get(at(9)));
        export.set(at(9), with(e9, e9.details().deepCopy().put("name", "rewritten"), e9.prevHash()).line());
        AuditVerificationException e = refused(rechain(export, at(9)));
        assertEquals(12, e.seq());
        assertEquals("checkpoint at 12: the signed head hash is not the hash of entry 11 (entries before it were rewritten)",
                e.reasons().get(0));

        // Moving the checkpoint's head hash along too breaks its signature instead.
        List<String> deeper = rechain(export, at(9));
        Entry cp = entry(deeper.get(at(12)));
        ObjectNode details = cp.details().deepCopy().put("headHash", cp.prevHash());
        deeper.set(at(12), with(cp, details, cp.prevHash()).line());
        AuditVerificationException again = refused(rechain(deeper, at(12)));
        assertEquals(12, again.seq());
        assertTrue(again.reasons().get(0).startsWith("checkpoint at 12: signature does not verify"), again.reasons().get(0));
    }

    @Test
    void aDeletedCheckpointIsADeletedEntry() {
        List<String> export = new ArrayList<>(lines);
        export.remove(at(12));
        AuditVerificationException e = refused(export);
        assertEquals(12, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 12 missing"), e.reasons().get(0));
    }

    @Test
    void aCutStartFailsUnlessASegmentIsAsked() throws Exception {
        List<String> segment = lines.subList(at(7), lines.size());
        AuditVerificationException e = refused(segment);
        assertEquals(1, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 1 missing: the export starts at entry 7"), e.reasons().get(0));

        AuditReport report = verify(segment, new AuditVerifier.Options(true, OptionalLong.empty(), Optional.empty()));
        assertEquals(7, report.firstSeq());
        assertEquals(3, report.checkpoints(), "checkpoints 12, 18 and 24; 6 is cut off");
    }

    @Test
    void aReplacedFirstEntryIsNamed() {
        Entry first = entry(lines.get(0));
        List<String> export = new ArrayList<>(lines);
        export.set(0, with(first, first.details(), "1".repeat(64)).line());
        AuditVerificationException e = refused(export);
        assertEquals(1, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 1: prevHash is not 64 zeros"), e.reasons().get(0));
    }

    @Test
    void anExportFilteredByActionHasGapsAndDoesNotVerify() {
        List<String> filtered = lines.stream().filter(l -> !entry(l).isCheckpoint()).toList();
        AuditVerificationException e = refused(filtered);
        assertEquals(6, e.seq());
        assertTrue(e.reasons().get(0).contains("an export filtered by actor, job or action has such gaps"), e.reasons().get(0));
    }

    @Test
    void unreadableLinesAndSmuggledFieldsAreNamed() {
        List<String> export = new ArrayList<>(lines);
        export.set(at(9), "{not json");
        AuditVerificationException e = refused(export);
        assertEquals(9, e.seq());
        assertTrue(e.reasons().get(0).startsWith("entry 9 (line 9): not a readable audit entry: not valid JSON"),
                e.reasons().get(0));

        // A field outside the hash would be unprotected: it is refused, not ignored.
        List<String> smuggled = new ArrayList<>(lines);
        smuggled.set(at(9), lines.get(at(9)).replaceFirst("^\\{", "{\"approvedBy\":\"mallory\","));
        AuditVerificationException s = refused(smuggled);
        assertEquals(9, s.seq());
        assertTrue(s.reasons().get(0).contains("unexpected field 'approvedBy'"), s.reasons().get(0));

        List<String> duplicated = new ArrayList<>(lines);
        duplicated.set(at(9), lines.get(at(9)).replaceFirst("^\\{", "{\"outcome\":\"refused\","));
        assertEquals(9, refused(duplicated).seq());
    }

    @Test
    void anEmptyExportDoesNotVerify() {
        AuditVerificationException e = refused(List.of());
        assertEquals(1, e.seq());
        assertEquals("entry 1 missing: the export holds no entries", e.reasons().get(0));
    }

    @Test
    void aReformattedExportStillVerifies() throws Exception {
        // Another tool may reorder keys or end lines with CRLF: the hash is over the canonical form, not the bytes.
        List<String> reformatted = new ArrayList<>();
        for (String line : lines) {
            reformatted.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).toPrettyString()
                    .replace("\n", " ") + "\r");
        }
        assertEquals(27, verify(reformatted, AuditVerifier.Options.FULL).lastSeq());
    }

    @Test
    void checkpointsAcrossAKeyRotationNeedBothKeys() throws Exception {
        PublicKeyPem oldKey = hostKey();
        keys.rotate();
        AuditLog log = new AuditLog(tmp.resolve("audit.jsonl"), Clock.systemUTC(),
                new AuditLog.Checkpoints(5, java.time.Duration.ofHours(1)));
        log.signCheckpointsWith(keys::signer);
        for (int i = 0; i < 2; i++) {
            log.record("anonymous", "key.rotate", "k", "rotated", Map.of());
        }
        List<String> export = Files.readAllLines(tmp.resolve("audit.jsonl"));
        assertEquals(30, export.size(), "entries 28 and 29, then checkpoint 30 with the new key");
        Path file = tmp.resolve("rotated.jsonl");
        Files.write(file, export);

        AuditReport both = new AuditVerifier(List.of(oldKey, hostKey())).verify(file, AuditVerifier.Options.FULL);
        assertEquals(5, both.checkpoints());
        assertEquals(2, both.signedBy().size());
        AuditVerificationException onlyNew = assertThrows(AuditVerificationException.class,
                () -> new AuditVerifier(List.of(hostKey())).verify(file, AuditVerifier.Options.FULL));
        assertEquals(6, onlyNew.seq(), "checkpoint 6 was signed with the retired key");
    }
}
