package dev.cloister.audit;

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

/** The audit log as a file of lines (UTF-8, LF), each appended and forced to disk. */
final class FileAuditStore implements AuditStore {

    private static final String CHECKPOINT_MARK = "\"action\":\"" + Checkpoint.ACTION + "\"";

    private final Path file;
    /** Length of the file; always at the end of a whole line, so that readers stop there. */
    private long size;

    FileAuditStore(Path file) {
        this.file = file;
    }

    // Reads the file once: the last line continues the chain; entries after the last checkpoint still need signing.
    // A torn last line means a crash mid-write; appending after it would bury it, so refuse.
    @Override
    public synchronized Head open() throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        size = Files.exists(file) ? Files.size(file) : 0;
        if (size == 0) {
            return Head.EMPTY;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(size - 1);
            if (raf.read() != '\n') {
                throw new IOException("its last line is incomplete (a crash during a write?); inspect it and remove "
                        + "the partial line");
            }
        }
        String last = null;
        long unsigned = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = reader.readLine()) != null; ) {
                unsigned = line.contains(CHECKPOINT_MARK) && Entry.parse(line).isCheckpoint() ? 0 : unsigned + 1;
                last = line;
            }
        }
        return new Head(last, unsigned);
    }

    @Override
    public synchronized void append(long seq, String action, String line) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE)) {
            try {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(false);
            } catch (IOException e) {
                // Cut a partly written line off again, so that the next entry does not follow a torn one.
                ch.truncate(size);
                throw e;
            }
        }
        size += bytes.length;
    }

    @Override
    public void read(long upTo, AuditLog.LineSink sink) throws IOException {
        long count = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; count < upTo && (line = reader.readLine()) != null; count++) {
                sink.accept(line);
            }
        } catch (NoSuchFileException e) {
            // nothing recorded yet
        }
    }

    @Override
    public String toString() {
        return file.toString();
    }
}
