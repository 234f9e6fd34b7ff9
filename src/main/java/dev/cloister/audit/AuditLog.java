package dev.cloister.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.cloister.keys.Signer;
import org.jboss.logging.Logger;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Append-only audit log, one JSON object per line, each entry chained to the previous by SHA-256 so that an edited,
 * removed, inserted or reordered line breaks the chain, and signed checkpoints every so often so that rewriting the
 * chain wholesale is detected too (format: the package documentation). Details must never hold secrets: callers pass
 * names and digests, not values.
 */
public final class AuditLog {

    /**
     * When to write a signed checkpoint: after {@code every} entries, and at each {@code interval} tick of a
     * {@link CheckpointTimer} when some entries are not yet covered.
     */
    public record Checkpoints(int every, Duration interval) {

        public static final Checkpoints DEFAULTS = new Checkpoints(100, Duration.ofMinutes(10));

        public Checkpoints {
            if (every < 1) {
                throw new IllegalArgumentException("checkpoint-every must be at least 1");
            }
            if (interval == null || interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("checkpoint-interval must be positive");
            }
        }
    }

    /** Receives the stored lines of an export; may fail with I/O while writing them on. */
    public interface LineSink {
        void accept(String line) throws IOException;
    }

    private static final Logger LOG = Logger.getLogger(AuditLog.class);
    private static final String CHECKPOINT_MARK = "\"action\":\"" + Checkpoint.ACTION + "\"";

    private final ObjectMapper json = new ObjectMapper();
    private final Path file;
    private final Clock clock;
    private final Checkpoints checkpoints;
    private Supplier<Signer> signer;
    private long seq;
    private String prevHash;
    /** Entries after the last checkpoint. */
    private long unsigned;
    /** Length of the file; always at the end of a whole line, so that readers stop there. */
    private long size;

    /** Opens (or starts) the log in {@code file} with the default checkpoint settings. */
    public AuditLog(Path file, Clock clock) {
        this(file, clock, Checkpoints.DEFAULTS);
    }

    /**
     * Opens (or starts) the log in {@code file}. No checkpoint is written until {@link #signCheckpointsWith} gives
     * it a signer.
     *
     * @throws IllegalStateException if the file cannot be read, or ends in a torn or unreadable entry
     */
    public AuditLog(Path file, Clock clock, Checkpoints checkpoints) {
        this.file = file;
        this.clock = clock;
        this.checkpoints = Objects.requireNonNull(checkpoints, "checkpoints");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            open();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("audit log " + file + " cannot be opened: " + e.getMessage(), e);
        }
    }

    // Reads the file once, line by line: the last entry continues the chain; entries after the last checkpoint
    // still need signing. A torn last line means a crash mid-write; appending after it would bury it, so refuse.
    private void open() throws IOException {
        seq = 0;
        prevHash = Entry.GENESIS;
        unsigned = 0;
        size = Files.exists(file) ? Files.size(file) : 0;
        if (size == 0) {
            return;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(size - 1);
            if (raf.read() != '\n') {
                throw new IOException("its last line is incomplete (a crash during a write?); inspect it and remove "
                        + "the partial line");
            }
        }
        String last = null;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = reader.readLine()) != null; ) {
                unsigned = line.contains(CHECKPOINT_MARK) && Entry.parse(line).isCheckpoint() ? 0 : unsigned + 1;
                last = line;
            }
        }
        Entry entry = Entry.parse(last);
        seq = entry.seq();
        prevHash = entry.hash();
    }

    /**
     * Appends one entry and forces it to disk before returning; then writes a checkpoint when one is due.
     *
     * @param details names, digests, counts and reasons only; numbers that are not integers are stored as text
     * @throws IllegalStateException if the entry cannot be written (callers refuse the work rather than do it
     *                               unaudited)
     */
    public synchronized void record(String actor, String action, String subject, String outcome, Map<String, ?> details) {
        if (Checkpoint.ACTION.equals(action)) {
            throw new IllegalArgumentException(Checkpoint.ACTION + " entries are written by the log itself");
        }
        JsonNode tree = json.valueToTree(new TreeMap<>(details));
        append(text(actor), text(action), text(subject), text(outcome), (ObjectNode) canonicalValues(tree));
        unsigned++;
        if (unsigned >= checkpoints.every()) {
            checkpointQuietly();
        }
    }

    /**
     * Lets the log sign checkpoints with whichever key {@code signer} returns at the time (the active host key), and
     * writes one at once if it is due. Called once, after the host keys are open: opening them is itself audited.
     */
    public synchronized void signCheckpointsWith(Supplier<Signer> signer) {
        if (this.signer != null) {
            throw new IllegalStateException("the audit log already has a checkpoint signer");
        }
        this.signer = Objects.requireNonNull(signer, "signer");
        if (unsigned >= checkpoints.every()) {
            checkpointQuietly();
        }
    }

    /**
     * Writes a signed checkpoint if some entries are not covered by one yet.
     *
     * @return whether a checkpoint was written; false without a signer or with nothing to sign
     * @throws IllegalStateException if signing or writing fails
     */
    public synchronized boolean checkpoint() {
        if (signer == null || unsigned == 0) {
            return false;
        }
        String time = clock.instant().toString();
        ObjectNode details = Checkpoint.sign(signer.get(), seq, prevHash, time);
        append("cloister", Checkpoint.ACTION, "audit", "signed", details, time);
        unsigned = 0;
        return true;
    }

    /** The checkpoint settings this log was opened with. */
    public Checkpoints checkpoints() {
        return checkpoints;
    }

    /**
     * Passes the stored lines of the entries {@code query} selects to {@code sink}, byte for byte as stored, in log
     * order. Entries appended while this runs are not included. A line that cannot be read is passed on only when the
     * query has no filter (so that a verifier sees it).
     */
    public void export(AuditQuery query, LineSink sink) throws IOException {
        long end;
        synchronized (this) {
            end = size;
        }
        Deque<String> newest = new ArrayDeque<>();
        int limit = query.limit().orElse(Integer.MAX_VALUE);
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            long read = 0;
            for (String line; read < end && (line = reader.readLine()) != null; ) {
                read += line.getBytes(StandardCharsets.UTF_8).length + 1;
                if (query.filters() && !matches(query, line)) {
                    continue;
                }
                if (query.limit().isEmpty()) {
                    sink.accept(line);
                    continue;
                }
                if (newest.size() == limit) {
                    newest.removeFirst();
                }
                newest.addLast(line);
            }
        } catch (NoSuchFileException e) {
            return; // nothing recorded yet
        }
        for (String line : newest) {
            sink.accept(line);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized String toString() {
        return "AuditLog[" + file + ", seq=" + seq + ", unsigned=" + unsigned + "]";
    }

    private boolean matches(AuditQuery query, String line) {
        try {
            return query.matches(Entry.parse(line));
        } catch (IllegalArgumentException e) {
            LOG.warnf("audit log %s holds an unreadable line, left out of a filtered export: %s", file, e.getMessage());
            return false;
        }
    }

    // A checkpoint that fails must not fail the entry that was just recorded; the next entry or timer tick retries.
    private void checkpointQuietly() {
        try {
            checkpoint();
        } catch (RuntimeException e) {
            LOG.errorf("audit checkpoint after entry %d failed: %s", seq, e.getMessage());
        }
    }

    private void append(String actor, String action, String subject, String outcome, ObjectNode details) {
        append(actor, action, subject, outcome, details, clock.instant().toString());
    }

    private void append(String actor, String action, String subject, String outcome, ObjectNode details, String time) {
        Entry unhashed = new Entry(seq + 1, time, actor, action, subject, outcome, details, prevHash, Entry.GENESIS);
        Entry entry = new Entry(unhashed.seq(), time, actor, action, subject, outcome, details, prevHash,
                unhashed.computedHash());
        byte[] line = (entry.line() + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE)) {
            try {
                ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(false);
            } catch (IOException e) {
                // Cut a partly written line off again, so that the next entry does not follow a torn one.
                ch.truncate(size);
                throw e;
            }
        } catch (IOException e) {
            // Refusing work we cannot audit is the safe side; callers turn this into an error response.
            LOG.errorf("audit log %s cannot be written: %s", file, e.getMessage());
            throw new IllegalStateException("audit log cannot be written", e);
        }
        size += line.length;
        seq = entry.seq();
        prevHash = entry.hash();
    }

    private static String text(String value) {
        return value == null ? "-" : CanonicalJson.wellFormed(value);
    }

    // Makes a details tree storable as is: fractional numbers become text (they have no single canonical spelling)
    // and unpaired surrogates become U+FFFD (they would not survive UTF-8), so the stored entry hashes as computed.
    private static JsonNode canonicalValues(JsonNode node) {
        if (node.isObject()) {
            ObjectNode out = JsonNodeFactory.instance.objectNode();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                out.set(CanonicalJson.wellFormed(field.getKey()), canonicalValues(field.getValue()));
            }
            return out;
        }
        if (node.isArray()) {
            ArrayNode out = JsonNodeFactory.instance.arrayNode();
            node.forEach(element -> out.add(canonicalValues(element)));
            return out;
        }
        if (node.isTextual()) {
            return TextNode.valueOf(CanonicalJson.wellFormed(node.textValue()));
        }
        if (node.isNumber() && !node.isIntegralNumber()) {
            return TextNode.valueOf(node.asText());
        }
        return node;
    }
}
