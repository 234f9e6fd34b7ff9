package dev.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.audit.AuditLog;
import dev.cloister.keys.HostKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code cloister audit verify}: exit codes 0 / 1 / 2 and what it prints. */
class AuditCliTest {

    @TempDir
    Path tmp;


    @Test
    void verifiesRefusesAndTellsUsageErrorsApart() throws Exception {
        Path log = tmp.resolve("audit.jsonl");
        Path key;
        try (HostKeys keys = HostKeys.open(tmp.resolve("keys"), "passphrase".toCharArray())) {
            AuditLog audit = new AuditLog(tmp.resolve("audit.jsonl"), Clock.systemUTC(),
                    new AuditLog.Checkpoints(3, Duration.ofHours(1)));
            audit.signCheckpointsWith(keys::signer);
            for (int i = 0; i < 7; i++) {
                audit.record("anonymous", "job.cancel", "job-" + i, "requested", Map.of());
            }
            key = Files.writeString(tmp.resolve("host.pub.pem"), keys.publicKey(keys.activeKeyId()).text());
        }
        // 1-3, checkpoint 4, 5-7, checkpoint 8, 9.
        CliRun ok = CliRun.of("audit", "verify", log.toString(), "--key", key.toString());
        assertEquals(0, ok.exitCode(), ok.out());
        assertTrue(ok.out().contains("entries    9 (seq 1..9), 2 checkpoint(s) verified"), ok.out());
        assertTrue(ok.out().contains("signed     entries 1..7, by the checkpoint at 8"), ok.out());
        assertTrue(ok.out().contains("unsigned   1 entry after the last checkpoint (seq 9): hash-chained only"), ok.out());

        List<String> lines = Files.readAllLines(log);
        Path edited = Files.write(tmp.resolve("edited.jsonl"),
                List.of(lines.get(0), lines.get(1).replace("job-1", "job-X"), lines.get(2)));
        CliRun bad = CliRun.of("audit", "verify", edited.toString(), "--key", key.toString(), "--json");
        assertEquals(1, bad.exitCode(), bad.out());
        JsonNode report = new ObjectMapper().readTree(bad.out());
        assertEquals(2, report.get("firstBadSeq").asLong());
        assertEquals("entry 2: hash does not match its content (edited)", report.get("reason").asText());

        assertEquals(1, CliRun.of("audit", "verify", log.toString(), "--key", key.toString(), "--expect", "12").exitCode());
        assertEquals(2, CliRun.of("audit", "verify", log.toString()).exitCode(), "no key");
        assertEquals(2, CliRun.of("audit", "verify", log.toString(), "--key", log.toString()).exitCode(), "not a PEM key");
        assertEquals(2, CliRun.of("audit", "verify", tmp.resolve("missing.jsonl").toString(), "--key", key.toString()).exitCode());
        assertEquals(2, CliRun.of("audit", "verify", log.toString(), "--key", key.toString(), "--expect", "ten").exitCode());
        assertEquals(2, CliRun.of("audit", "verify", log.toString(), "--key", key.toString(), "--expect", "9:XYZ").exitCode());
    }
}
