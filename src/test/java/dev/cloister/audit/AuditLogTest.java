package dev.cloister.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import dev.cloister.keys.HostKeys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writing the log: the entry hash as documented, checkpoints when due, reopening, exports with filters. */
class AuditLogTest {

    private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();
    private static final Instant START = Instant.parse("2025-01-02T03:04:05Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private HostKeys keys;

    @BeforeEach
    void openKeys() throws Exception {
        keys = HostKeys.open(tmp.resolve("keys"), PASSPHRASE);
    }

    @AfterEach
    void closeKeys() {
        keys.close();
    }

    private AuditLog log(int every) {
        return new AuditLog(tmp.resolve("audit").resolve("audit.jsonl"), new AuditVerifierTest.SteppingClock(START),
                new AuditLog.Checkpoints(every, Duration.ofHours(1)));
    }

    private List<String> lines(AuditLog log) throws Exception {
        return Files.readAllLines(tmp.resolve("audit").resolve("audit.jsonl"));
    }

    @Test
    void theHashIsSha256OfTheCanonicalTextAsDocumented() throws Exception {
        AuditLog log = log(100);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("zeta", Map.of("b", 2, "a", List.of(3, "x")));
        details.put("alpha", "tab\there, quote \" slash / escape \u001b é");
        log.record("anonymous", "job.admit", "job-1", "admitted", details);
        String line = lines(log).get(0);

        String canonical = "{\"seq\":1,\"time\":\"2025-01-02T03:04:06Z\",\"actor\":\"anonymous\",\"action\":\"job.admit\","
                + "\"subject\":\"job-1\",\"outcome\":\"admitted\",\"details\":{\"alpha\":\"tab\\there, quote \\\" slash / "
                + "escape \\u001B é\",\"zeta\":{\"a\":[3,\"x\"],\"b\":2}},\"prevHash\":\"" + "0".repeat(64) + "\"}";
        String hash = Digest.of(canonical.getBytes(StandardCharsets.UTF_8)).hex();
        assertEquals(canonical.substring(0, canonical.length() - 1) + ",\"hash\":\"" + hash + "\"}", line,
                "a stored line is the canonical text with the hash appended");
    }

    @Test
    void theCanonicalTextIsWhatJacksonWroteForTheFirstLogs() throws Exception {
        // Cloister's first audit log serialised a Jackson tree in field order with sorted details: keep hashing the same.
        ObjectNode old = JSON.createObjectNode();
        old.put("seq", 1);
        old.put("time", "2026-11-27T04:44:46.390729338Z");
        old.put("actor", "anonymous");
        old.put("action", "dataset.register");
        old.put("subject", "breast-cancer");
        old.put("outcome", "registered");
        old.set("details", JSON.valueToTree(new TreeMap<>(Map.of("digest", "sha256:" + "2".repeat(64),
                "reasons", List.of("a \u001f b", "line\nbreak"), "counts", new TreeMap<>(Map.of("FAIL", 1L, "PASS", 20L))))));
        old.put("prevHash", "0".repeat(64));
        String body = JSON.writeValueAsString(old);
        old.put("hash", Digest.of(body).hex());
        String line = JSON.writeValueAsString(old);

        Entry entry = Entry.parse(line);
        assertEquals(body, entry.canonical());
        assertEquals(line, entry.line());
        Path file = tmp.resolve("old.jsonl");
        Files.writeString(file, line + "\n");
        assertEquals(1, new AuditVerifier(List.of(keys.publicKey(keys.activeKeyId()))).verify(file,
                AuditVerifier.Options.FULL).lastSeq());
    }

    @Test
    void detailsAreMadeStorableAsTheyHash() throws Exception {
        AuditLog log = log(100);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("ratio", 0.25);
        details.put("broken", "half a pair \uD800 here");
        details.put("none", null);
        log.record("anonymous", "job.admit", null, "admitted", details);
        Entry entry = Entry.parse(lines(log).get(0));
        assertEquals(entry.computedHash(), entry.hash());
        assertEquals("0.25", entry.details().get("ratio").textValue(), "fractions are recorded as text");
        assertEquals("half a pair \uFFFD here", entry.details().get("broken").textValue());
        assertTrue(entry.details().get("none").isNull());
        assertEquals("-", entry.subject());
    }

    @Test
    void nobodyElseWritesCheckpoints() {
        AuditLog log = log(100);
        assertThrows(IllegalArgumentException.class, () -> log.record("anonymous", "audit.checkpoint", "audit", "signed", Map.of()));
    }

    @Test
    void aCheckpointFollowsEveryNEntriesOnceThereIsASigner() throws Exception {
        AuditLog log = log(3);
        for (int i = 0; i < 4; i++) {
            log.record("anonymous", "job.cancel", "job-" + i, "requested", Map.of());
        }
        assertEquals(4, lines(log).size(), "no signer yet: no checkpoint");

        log.signCheckpointsWith(keys::signer);
        List<String> lines = lines(log);
        assertEquals(5, lines.size(), "the overdue checkpoint is written at once");
        Entry checkpoint = Entry.parse(lines.get(4));
        assertTrue(checkpoint.isCheckpoint());
        assertEquals(Set.of("seq", "headHash", "keyId", "signature"), fieldNames(checkpoint.details()),
                "a checkpoint holds a sequence number, a hash, a key id and a signature: nothing else");
        assertEquals(4, checkpoint.details().get("seq").longValue());
        assertEquals(Entry.parse(lines.get(3)).hash(), checkpoint.details().get("headHash").textValue());
        assertEquals(keys.activeKeyId().hex(), checkpoint.details().get("keyId").textValue());
        assertEquals("cloister", checkpoint.actor());

        for (int i = 0; i < 3; i++) {
            log.record("anonymous", "job.cancel", "job-x", "requested", Map.of());
        }
        assertEquals(9, lines(log).size(), "three more entries, then checkpoint 9");
        assertTrue(Entry.parse(lines(log).get(8)).isCheckpoint());
        assertFalse(log.checkpoint(), "nothing left to sign");
        assertThrows(IllegalStateException.class, () -> log.signCheckpointsWith(keys::signer));
    }

    @Test
    void reopeningContinuesTheChainAndTheCount() throws Exception {
        AuditLog first = log(3);
        first.signCheckpointsWith(keys::signer);
        for (int i = 0; i < 5; i++) {
            first.record("anonymous", "job.cancel", "job-" + i, "requested", Map.of());
        }
        // 1-3, checkpoint 4, 5-6: two entries are not signed yet.
        AuditLog second = log(3);
        second.signCheckpointsWith(keys::signer);
        second.record("anonymous", "job.cancel", "job-9", "requested", Map.of());
        List<String> lines = lines(second);
        assertEquals(8, lines.size(), "entry 7 makes three unsigned entries, so checkpoint 8 follows");
        assertEquals(7, Entry.parse(lines.get(6)).seq());
        assertEquals(Entry.parse(lines.get(5)).hash(), Entry.parse(lines.get(6)).prevHash());
        assertTrue(Entry.parse(lines.get(7)).isCheckpoint());
    }

    @Test
    void aTornLastLineStopsTheLogFromOpening() throws Exception {
        AuditLog log = log(100);
        log.record("anonymous", "job.cancel", "job-1", "requested", Map.of());
        Files.writeString(tmp.resolve("audit").resolve("audit.jsonl"), "{\"seq\":2,\"ti", StandardOpenOption.APPEND);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> log(100));
        assertTrue(e.getMessage().contains("its last line is incomplete"), e.getMessage());
    }

    @Test
    void closingTheTimerSignsWhatIsLeft() throws Exception {
        AuditLog log = log(100);
        CheckpointTimer timer = CheckpointTimer.start(log, keys::signer);
        log.record("anonymous", "job.cancel", "job-1", "requested", Map.of());
        timer.close();
        List<String> lines = lines(log);
        assertEquals(2, lines.size());
        assertTrue(Entry.parse(lines.get(1)).isCheckpoint());
    }

    @Test
    void theTimerSignsAfterItsInterval() throws Exception {
        AuditLog log = new AuditLog(tmp.resolve("audit").resolve("audit.jsonl"), java.time.Clock.systemUTC(),
                new AuditLog.Checkpoints(100, Duration.ofMillis(50)));
        try (CheckpointTimer timer = CheckpointTimer.start(log, keys::signer)) {
            log.record("anonymous", "job.cancel", "job-1", "requested", Map.of());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (lines(log).size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(2, lines(log).size(), "a checkpoint within the interval");
            Thread.sleep(200);
            assertEquals(2, lines(log).size(), "no new entries, no new checkpoint");
        }
    }

    @Test
    void exportsFilterByTimeActorSubjectAndActionAndKeepTheNewest() throws Exception {
        AuditLog log = log(4);
        log.signCheckpointsWith(keys::signer);
        for (int i = 1; i <= 6; i++) {
            log.record(i % 2 == 0 ? "alice" : "bob", i % 3 == 0 ? "job.cancel" : "job.admit", "job-" + (i % 2), "ok", Map.of("i", i));
        }
        // 1-4 at 03:04:06..09, checkpoint 5 at :10, 6 at :11, 7 at :12.
        assertEquals(7, lines(log).size());
        assertEquals(List.of(2L, 4L, 7L), seqs(log, AuditQuery.parse(null, null, "alice", null, null, null)));
        assertEquals(List.of(3L, 7L), seqs(log, AuditQuery.parse(null, null, null, null, "job.cancel", null)));
        assertEquals(List.of(1L, 3L, 6L), seqs(log, AuditQuery.parse(null, null, null, "job-1", null, null)));
        assertEquals(List.of(5L), seqs(log, AuditQuery.parse(null, null, null, null, "audit.checkpoint", null)));
        assertEquals(List.of(2L, 3L), seqs(log, AuditQuery.parse("2025-01-02T03:04:07Z", "2025-01-02T04:04:09+01:00",
                null, null, null, null)), "from inclusive, to exclusive; offsets accepted");
        assertEquals(List.of(6L, 7L), seqs(log, AuditQuery.parse(null, null, null, null, null, "2")));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), seqs(log, AuditQuery.ALL));

        List<String> exported = new ArrayList<>();
        log.export(AuditQuery.ALL, exported::add);
        assertEquals(lines(log), exported, "byte for byte as stored");
    }

    @Test
    void badFiltersAreNamedTogetherWithoutEchoingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AuditQuery.parse("yesterday<script>", "2025-01-01T00:00:00Z", "", null, "a\nb", "0"));
        assertEquals("from: not an ISO-8601 instant such as 2025-01-02T03:04:05Z; "
                + "actor: must be 1 to 256 characters without control characters; "
                + "action: must be 1 to 256 characters without control characters; limit: must be from 1 to 10000",
                e.getMessage());
        assertEquals("from: must be before to", assertThrows(IllegalArgumentException.class,
                () -> AuditQuery.parse("2025-01-02T00:00:00Z", "2025-01-01T00:00:00Z", null, null, null, null)).getMessage());
        assertEquals("limit: not an integer", assertThrows(IllegalArgumentException.class,
                () -> AuditQuery.parse(null, null, null, null, null, "ten")).getMessage());
    }

    private static List<Long> seqs(AuditLog log, AuditQuery query) throws Exception {
        List<Long> out = new ArrayList<>();
        log.export(query, line -> out.add(Entry.parse(line).seq()));
        return out;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
