package dev.cloister.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cloister.digest.Digest;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Append-only audit log, one JSON object per line, each entry chained to the previous by SHA-256 so that an edited,
 * removed or reordered line breaks the chain. Details must never hold secrets: callers pass names, not values.
 */
public final class AuditLog {

    private static final Logger LOG = Logger.getLogger(AuditLog.class);
    private static final String GENESIS = "0".repeat(64);

    private final ObjectMapper json = new ObjectMapper();
    private final Path file;
    private final Clock clock;
    private long seq;
    private String prevHash;

    public AuditLog(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
            if (lines.isEmpty()) {
                seq = 0;
                prevHash = GENESIS;
            } else {
                var last = json.readTree(lines.get(lines.size() - 1));
                seq = last.path("seq").asLong();
                prevHash = last.path("hash").asText();
            }
        } catch (IOException e) {
            throw new IllegalStateException("audit log " + file + " cannot be opened: " + e.getMessage(), e);
        }
    }

    /** Appends one entry and forces it to disk before returning. */
    public synchronized void record(String actor, String action, String subject, String outcome, Map<String, ?> details) {
        ObjectNode entry = json.createObjectNode();
        entry.put("seq", seq + 1);
        entry.put("time", clock.instant().toString());
        entry.put("actor", actor);
        entry.put("action", action);
        entry.put("subject", subject);
        entry.put("outcome", outcome);
        entry.set("details", json.valueToTree(new TreeMap<>(details)));
        entry.put("prevHash", prevHash);
        try {
            String body = json.writeValueAsString(entry);
            String hash = Digest.of(body).hex();
            entry.put("hash", hash);
            byte[] line = (json.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(line));
                ch.force(false);
            }
            seq++;
            prevHash = hash;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("audit entry cannot be serialised", e);
        } catch (IOException e) {
            // Refusing work we cannot audit is the safe side; callers turn this into an error response.
            LOG.errorf("audit log %s cannot be written: %s", file, e.getMessage());
            throw new IllegalStateException("audit log cannot be written", e);
        }
    }

    public Path file() {
        return file;
    }
}
