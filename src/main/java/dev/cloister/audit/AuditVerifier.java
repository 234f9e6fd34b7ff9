package dev.cloister.audit;

import dev.cloister.keys.KeyId;
import dev.cloister.keys.PublicKeyPem;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Verifies an audit export offline against the host's public keys: every entry's hash, the chain (sequence numbers
 * contiguous, each {@code prevHash} the hash of the entry before), and every checkpoint (its signature with one of
 * the given keys, and that it signs the entry right before it). Returns a report only when everything holds;
 * otherwise throws {@link AuditVerificationException} naming the first bad sequence number.
 *
 * <p>What it cannot see: entries after the last checkpoint are only hash-chained, so someone able to write the file
 * can rewrite or drop them unnoticed; the report counts them, and {@link Options#expectSeq()} pins a sequence number
 * (and hash) seen earlier so that a cut tail is caught.
 */
public final class AuditVerifier {

    /**
     * @param segment    accept an export that starts after entry 1 (an export filtered by time only); the first
     *                   entry's {@code prevHash} is then taken on trust. Without it, the export must start at entry 1.
     * @param expectSeq  the export must reach this entry (one seen in an earlier export or checkpoint)
     * @param expectHash and that entry must have this hash
     */
    public record Options(boolean segment, OptionalLong expectSeq, Optional<String> expectHash) {

        /** A whole log, nothing pinned. */
        public static final Options FULL = new Options(false, OptionalLong.empty(), Optional.empty());

        private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

        public Options {
            if (expectHash.isPresent() && expectSeq.isEmpty()) {
                throw new IllegalArgumentException("an expected hash needs the sequence number it belongs to");
            }
            if (expectHash.isPresent() && !HEX.matcher(expectHash.get()).matches()) {
                throw new IllegalArgumentException("an expected hash is 64 lowercase hex digits");
            }
            if (expectSeq.isPresent() && expectSeq.getAsLong() < 1) {
                throw new IllegalArgumentException("an expected sequence number is at least 1");
            }
        }
    }

    /** Lines longer than this are refused unread (untrusted input is capped); real entries are far shorter. */
    public static final int MAX_LINE_CHARS = 1 << 20;

    private final Map<KeyId, PublicKeyPem> keys = new LinkedHashMap<>();

    /** @param keys the host's public keys, active and retired (checkpoints before a rotation use an older key) */
    public AuditVerifier(Collection<PublicKeyPem> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("verifying checkpoints needs at least one public key");
        }
        keys.forEach(k -> this.keys.put(k.keyId(), k));
    }

    /**
     * Verifies the JSON-lines export in {@code export}.
     *
     * @throws AuditVerificationException at the first entry or checkpoint that does not verify
     * @throws IOException                if the file cannot be read
     */
    public AuditReport verify(Path export, Options options) throws AuditVerificationException, IOException {
        long[] present = sequenceNumbers(export);
        Chain chain = new Chain(options, present);
        try (Lines lines = new Lines(export)) {
            for (String line; (line = lines.next(chain.expected())) != null; ) {
                chain.add(line, lines.number());
            }
        }
        return chain.finish();
    }

    @Override
    public String toString() {
        return "AuditVerifier[keys=" + keys.keySet() + "]";
    }

    /** The sequence numbers of every readable line, sorted: tells a deleted entry from one moved further down. */
    private static long[] sequenceNumbers(Path export) throws IOException, AuditVerificationException {
        long[] seqs = new long[1024];
        int n = 0;
        try (Lines lines = new Lines(export)) {
            for (String line; (line = lines.next(n + 1)) != null; ) {
                try {
                    long seq = Entry.parse(line).seq();
                    if (n == seqs.length) {
                        seqs = Arrays.copyOf(seqs, n * 2);
                    }
                    seqs[n++] = seq;
                } catch (IllegalArgumentException e) {
                    // The second pass names it.
                }
            }
        }
        long[] sorted = Arrays.copyOf(seqs, n);
        Arrays.sort(sorted);
        return sorted;
    }

    /** The state of the walk down the export. */
    private final class Chain {
        private final Options options;
        private final long[] present;
        private final Set<KeyId> signedBy = new HashSet<>();
        private Entry first;
        private Entry previous;
        private long count;
        private int checkpoints;
        private long lastCheckpoint = -1;
        private String pinnedHash;

        Chain(Options options, long[] present) {
            this.options = options;
            this.present = present;
        }

        /** The sequence number the next entry should have, for messages about a line that cannot be read. */
        long expected() {
            return previous == null ? (options.segment() ? 0 : 1) : previous.seq() + 1;
        }

        void add(String line, long lineNumber) throws AuditVerificationException {
            Entry entry;
            try {
                entry = Entry.parse(line);
            } catch (IllegalArgumentException e) {
                long at = expected();
                throw new AuditVerificationException(at, (at == 0 ? "the first entry" : "entry " + at) + " (line "
                        + lineNumber + "): not a readable audit entry: " + e.getMessage());
            }
            long seq = entry.seq();
            if (!entry.computedHash().equals(entry.hash())) {
                throw new AuditVerificationException(seq, "entry " + seq + ": hash does not match its content (edited)");
            }
            if (previous == null) {
                start(entry);
            } else {
                link(entry);
            }
            if (entry.isCheckpoint()) {
                checkpoint(entry);
            }
            if (options.expectSeq().isPresent() && options.expectSeq().getAsLong() == seq) {
                pinnedHash = entry.hash();
            }
            if (first == null) {
                first = entry;
            }
            previous = entry;
            count++;
        }

        private void start(Entry entry) throws AuditVerificationException {
            if (options.segment()) {
                return;
            }
            if (entry.seq() != 1) {
                throw new AuditVerificationException(1, "entry 1 missing: the export starts at entry " + entry.seq()
                        + " (its start was cut, or it is a filtered export; one filtered by time only verifies with"
                        + " --segment)");
            }
            if (!entry.prevHash().equals(Entry.GENESIS)) {
                throw new AuditVerificationException(1, "entry 1: prevHash is not 64 zeros (inserted, or the start "
                        + "of the log was replaced)");
            }
        }

        private void link(Entry entry) throws AuditVerificationException {
            long seq = entry.seq();
            long want = previous.seq() + 1;
            if (seq > want) {
                if (Arrays.binarySearch(present, want) >= 0) {
                    throw new AuditVerificationException(want, "entry " + want + ": out of order: entry " + seq
                            + " comes before it (reordered)");
                }
                throw new AuditVerificationException(want, "entry " + want + " missing: seq jumps from "
                        + previous.seq() + " to " + seq + " (deleted; an export filtered by actor, job or action "
                        + "has such gaps and does not verify)");
            }
            if (seq == previous.seq()) {
                throw new AuditVerificationException(seq, "entry " + seq + ": a second entry with this sequence "
                        + "number (inserted)");
            }
            if (seq < want) {
                throw new AuditVerificationException(seq, "entry " + seq + ": out of order: it comes after entry "
                        + previous.seq() + " (inserted or reordered)");
            }
            if (!entry.prevHash().equals(previous.hash())) {
                throw new AuditVerificationException(seq, "entry " + seq + ": prevHash does not link to entry "
                        + previous.seq() + " (inserted or reordered, or entry " + previous.seq()
                        + " was rewritten with a new hash)");
            }
        }

        private void checkpoint(Entry entry) throws AuditVerificationException {
            long seq = entry.seq();
            String at = "checkpoint at " + seq + ": ";
            String malformed = Checkpoint.malformed(entry.details());
            if (malformed != null) {
                throw new AuditVerificationException(seq, at + malformed);
            }
            long signedSeq = entry.details().get("seq").longValue();
            String headHash = entry.details().get("headHash").textValue();
            String keyIdText = entry.details().get("keyId").textValue();
            if (signedSeq != seq - 1) {
                throw new AuditVerificationException(seq, at + "it signs entry " + signedSeq + ", not the entry "
                        + (seq - 1) + " right before it");
            }
            if (!headHash.equals(entry.prevHash())) {
                throw new AuditVerificationException(seq, at + "the signed head hash is not the hash of entry "
                        + (seq - 1) + " (entries before it were rewritten)");
            }
            KeyId keyId;
            try {
                keyId = KeyId.parse(keyIdText);
            } catch (IllegalArgumentException e) {
                throw new AuditVerificationException(seq, at + "details.keyId is not a key id");
            }
            PublicKeyPem key = keys.get(keyId);
            if (key == null) {
                throw new AuditVerificationException(seq, at + "signed by key " + keyId
                        + ", which is not one of the given keys");
            }
            byte[] signature;
            try {
                signature = Base64.getDecoder().decode(entry.details().get("signature").textValue());
            } catch (IllegalArgumentException e) {
                throw new AuditVerificationException(seq, at + "the signature is not base64");
            }
            byte[] signed = Checkpoint.signedBytes(signedSeq, headHash, entry.time(), keyIdText);
            if (!key.verifies(signed, signature)) {
                throw new AuditVerificationException(seq, at + "signature does not verify with key " + keyId
                        + " (forged, or the checkpoint was altered)");
            }
            checkpoints++;
            lastCheckpoint = seq;
            signedBy.add(keyId);
        }

        AuditReport finish() throws AuditVerificationException {
            if (previous == null) {
                throw new AuditVerificationException(1, "entry 1 missing: the export holds no entries");
            }
            if (options.expectSeq().isPresent()) {
                long want = options.expectSeq().getAsLong();
                if (want > previous.seq()) {
                    throw new AuditVerificationException(previous.seq() + 1, "entry " + (previous.seq() + 1)
                            + " missing: the export ends at entry " + previous.seq() + " but entry " + want
                            + " was expected (its tail was cut)");
                }
                if (want < first.seq()) {
                    throw new AuditVerificationException(want, "entry " + want + " is not in the export, which starts "
                            + "at entry " + first.seq());
                }
                if (options.expectHash().isPresent() && !options.expectHash().get().equals(pinnedHash)) {
                    throw new AuditVerificationException(want, "entry " + want + ": hash " + pinnedHash
                            + " is not the expected " + options.expectHash().get() + " (rewritten since it was pinned)");
                }
            }
            OptionalLong last = lastCheckpoint < 0 ? OptionalLong.empty() : OptionalLong.of(lastCheckpoint);
            long unsigned = lastCheckpoint < 0 ? count : previous.seq() - lastCheckpoint;
            return new AuditReport(count, first.seq(), previous.seq(), previous.hash(), checkpoints, last, unsigned,
                    signedBy);
        }
    }

    /** Reads non-blank lines of at most {@link #MAX_LINE_CHARS} characters. */
    private static final class Lines implements AutoCloseable {
        private final BufferedReader reader;
        private long number;

        // Malformed UTF-8 becomes U+FFFD rather than an I/O error, so the entry it sits in fails its hash check.
        Lines(Path file) throws IOException {
            this.reader = new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8));
        }

        /** @param expected the sequence number to name if the line is too long */
        String next(long expected) throws IOException, AuditVerificationException {
            while (true) {
                StringBuilder line = new StringBuilder();
                int c;
                while ((c = reader.read()) >= 0 && c != '\n') {
                    if (line.length() == MAX_LINE_CHARS) {
                        throw new AuditVerificationException(expected, "entry " + expected + " (line " + (number + 1)
                                + "): longer than " + MAX_LINE_CHARS + " characters");
                    }
                    line.append((char) c);
                }
                if (c < 0 && line.isEmpty()) {
                    return null;
                }
                number++;
                if (!line.toString().isBlank()) {
                    return line.toString();
                }
            }
        }

        long number() {
            return number;
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }
}
