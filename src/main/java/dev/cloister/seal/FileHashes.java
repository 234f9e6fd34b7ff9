package dev.cloister.seal;

import dev.cloister.digest.Digest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Streams files through SHA-256 on a fixed pool of threads, each with one {@link #BUFFER_BYTES} buffer, so memory
 * stays bounded whatever the file sizes.
 */
final class FileHashes {

    /** Read buffer per hashing thread. */
    static final int BUFFER_BYTES = 64 * 1024;

    private FileHashes() {
    }

    /** The digests of {@code files} (relative to {@code root}), in the same order, hashed by {@code threads}. */
    static List<Digest> of(Path root, List<String> files, int threads) throws SealException {
        ExecutorService pool = Executors.newFixedThreadPool(threads, HashThreads.FACTORY);
        try {
            List<Future<Digest>> futures = new ArrayList<>(files.size());
            for (String name : files) {
                futures.add(pool.submit(() -> hashFile(root.resolve(name))));
            }
            List<Digest> digests = new ArrayList<>(files.size());
            for (int i = 0; i < files.size(); i++) {
                try {
                    digests.add(futures.get(i).get());
                } catch (ExecutionException e) {
                    throw new SealException("cannot hash " + files.get(i) + ": " + e.getCause().getMessage(),
                            e.getCause());
                }
            }
            return digests;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SealException("interrupted while hashing " + root, e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Streams one file through SHA-256; opening with NOFOLLOW_LINKS refuses a file swapped for a link meanwhile. */
    private static Digest hashFile(Path file) throws IOException {
        MessageDigest sha256 = Digest.sha256();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
        try (SeekableByteChannel channel = Files.newByteChannel(file, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                sha256.update(buffer);
                buffer.clear();
            }
        }
        return Digest.ofRaw(sha256.digest());
    }

    /** Daemon threads, so a stuck read never keeps the JVM alive. */
    private static final class HashThreads {
        static final AtomicInteger COUNT = new AtomicInteger();
        static final ThreadFactory FACTORY = runnable -> {
            Thread thread = new Thread(runnable, "cloister-hash-" + COUNT.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
