package dev.cloister.audit;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where the audit log's lines are kept, byte for byte as {@link AuditLog} wrote them: the chain and the checkpoints
 * are the log's business, a store only keeps lines in sequence order and never changes one. The service keeps them
 * in its database ({@link DatabaseAuditStore}); a file ({@link #file}) serves tools and tests.
 */
public interface AuditStore {

    /** The last stored line ({@code null} when the log is empty) and how many entries follow the last checkpoint. */
    record Head(String lastLine, long unsigned) {
        static final Head EMPTY = new Head(null, 0);
    }

    /**
     * Reads where the log stands.
     *
     * @throws IOException if the store cannot be read or ends in a torn entry
     */
    Head open() throws IOException;

    /** Stores {@code line} as entry {@code seq}; durable when it returns. On failure nothing of it is kept. */
    void append(long seq, String action, String line) throws IOException;

    /** Passes the lines of entries 1..{@code upTo} to {@code sink} in order. */
    void read(long upTo, AuditLog.LineSink sink) throws IOException;

    /** One JSON object per line in {@code file}, appended and forced to disk per entry. */
    static AuditStore file(Path file) {
        return new FileAuditStore(file);
    }
}
