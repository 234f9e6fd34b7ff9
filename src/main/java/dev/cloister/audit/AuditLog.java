package dev.cloister.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.cloister.keys.Signer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Path;
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

    private final ObjectMapper json = new ObjectMapper();
    private final AuditStore store;
    private final Clock clock;
    private final Checkpoints checkpoints;
    private Supplier<Signer> signer;
    private long seq;
    private String prevHash;
    /** Entries after the last checkpoint. */
    private long unsigned;

    /** Opens (or starts) the log in {@code file} with the default checkpoint settings. */
    public AuditLog(Path file, Clock clock) {
        this(AuditStore.file(file), clock, Checkpoints.DEFAULTS);
    }

    /** Opens (or starts) the log in {@code file}. */
    public AuditLog(Path file, Clock clock, Checkpoints checkpoints) {
        this(AuditStore.file(file), clock, checkpoints);
    }

    /**
     * Opens (or starts) the log kept in {@code store}. No checkpoint is written until {@link #signCheckpointsWith}
     * gives it a signer.
     *
     * @throws IllegalStateException if the store cannot be read, or ends in a torn or unreadable entry
     */
    public AuditLog(AuditStore store, Clock clock, Checkpoints checkpoints) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = clock;
        this.checkpoints = Objects.requireNonNull(checkpoints, "checkpoints");
        try {
            AuditStore.Head head = store.open();
            seq = 0;
            prevHash = Entry.GENESIS;
            unsigned = head.unsigned();
            if (head.lastLine() != null) {
                Entry last = Entry.parse(head.lastLine());
                seq = last.seq();
                prevHash = last.hash();
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("audit log " + store + " cannot be opened: " + e.getMessage(), e);
        }
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
            end = seq;
        }
        Deque<String> newest = new ArrayDeque<>();
        int limit = query.limit().orElse(Integer.MAX_VALUE);
        store.read(end, line -> {
            if (query.filters() && !matches(query, line)) {
                return;
            }
            if (query.limit().isEmpty()) {
                sink.accept(line);
                return;
            }
            if (newest.size() == limit) {
                newest.removeFirst();
            }
            newest.addLast(line);
        });
        for (String line : newest) {
            sink.accept(line);
        }
    }

    @Override
    public synchronized String toString() {
        return "AuditLog[" + store + ", seq=" + seq + ", unsigned=" + unsigned + "]";
    }

    private boolean matches(AuditQuery query, String line) {
        try {
            return query.matches(Entry.parse(line));
        } catch (IllegalArgumentException e) {
            LOG.warnf("audit log %s holds an unreadable line, left out of a filtered export: %s", store, e.getMessage());
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
        try {
            store.append(entry.seq(), action, entry.line());
        } catch (IOException e) {
            // Refusing work we cannot audit is the safe side; callers turn this into an error response.
            LOG.errorf("audit log %s cannot be written: %s", store, e.getMessage());
            throw new IllegalStateException("audit log cannot be written", e);
        }
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
