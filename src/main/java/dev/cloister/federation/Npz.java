package dev.cloister.federation;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * numpy's {@code .npz} (a zip of {@code .npy} files), read strictly and written deterministically.
 *
 * <p>Reading accepts only what a site's honest trainer writes: little-endian float64 ({@code <f8}) arrays in C order,
 * npy format 1.0 to 3.0, entries stored or deflated, each named {@code NAME.npy} with no directory part. The file
 * size, entry count and every entry's declared size are checked against the caps before anything is decompressed,
 * and each entry is read through a bound, so a zip bomb costs at most the cap. Everything else is refused with a
 * reason (the reason becomes the site's exclusion reason, so it names what was wrong, never host paths).
 *
 * <p>Writing is byte-for-byte deterministic: arrays in name order, stored (not deflated), a fixed 1980-01-01 time,
 * no extra fields, npy 1.0 headers padded to 64 bytes as numpy pads them; so equal weights give equal digests.
 */
public final class Npz {

    /** Caps on an untrusted file. */
    public record Limits(long maxFileBytes, int maxEntries, long maxUncompressedBytes) {
        public static final Limits DEFAULT = new Limits(16L << 20, 64, 64L << 20);

        public Limits {
            if (maxFileBytes < 1 || maxEntries < 1 || maxUncompressedBytes < 1
                    || maxUncompressedBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("npz caps must be positive and below 2 GiB");
            }
        }
    }

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern ENTRY = Pattern.compile("([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})\\.npy");
    private static final Pattern ITEM = Pattern.compile("\\s*'([a-z_]+)'\\s*:\\s*(.+?)\\s*");
    private static final Pattern SHAPE = Pattern.compile("\\(\\s*((?:\\d+\\s*,\\s*)*(?:\\d+\\s*,?)?)\\s*\\)");
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    private Npz() {
    }

    /** Reads {@code file} (not following a symlink) under {@code limits}. */
    public static Weights read(Path file, Limits limits) throws InvalidUpdateException {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new InvalidUpdateException("not a regular file");
            }
            long size = Files.size(file);
            if (size > limits.maxFileBytes()) {
                throw new InvalidUpdateException("the file is " + size + " bytes, over the cap of " + limits.maxFileBytes());
            }
        } catch (IOException e) {
            throw new InvalidUpdateException("cannot be read", e);
        }
        List<Tensor> tensors = new ArrayList<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            // The central directory's count and sizes are checked before any entry is opened.
            if (zip.size() > limits.maxEntries()) {
                throw new InvalidUpdateException("the zip has " + zip.size() + " entries, over the cap of " + limits.maxEntries());
            }
            if (zip.size() == 0) {
                throw new InvalidUpdateException("the zip holds no arrays");
            }
            List<ZipEntry> entries = new ArrayList<>();
            Set<String> names = new HashSet<>();
            long total = 0;
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                String name = arrayName(entry.getName());
                if (!names.add(name)) {
                    throw new InvalidUpdateException("entry '" + printable(entry.getName()) + "' appears twice");
                }
                if (entry.isDirectory()) {
                    throw new InvalidUpdateException("entry '" + printable(entry.getName()) + "' is a directory");
                }
                if (entry.getMethod() != ZipEntry.STORED && entry.getMethod() != ZipEntry.DEFLATED) {
                    throw new InvalidUpdateException("entry '" + name + ".npy' uses an unsupported compression method");
                }
                long declared = entry.getSize();
                if (declared < 0 || declared > limits.maxUncompressedBytes()) {
                    throw new InvalidUpdateException("entry '" + name + ".npy' declares " + declared
                            + " bytes uncompressed, over the cap of " + limits.maxUncompressedBytes());
                }
                total += declared;
                if (total > limits.maxUncompressedBytes()) {
                    throw new InvalidUpdateException("the entries declare " + total + " bytes uncompressed in all, over the cap of "
                            + limits.maxUncompressedBytes());
                }
                entries.add(entry);
            }
            if (zip.size() != entries.size()) {
                throw new InvalidUpdateException("the zip's entry count does not match its directory");
            }
            for (ZipEntry entry : entries) {
                byte[] bytes;
                try (InputStream in = zip.getInputStream(entry)) {
                    bytes = in.readNBytes((int) entry.getSize() + 1);
                }
                if (bytes.length != entry.getSize()) {
                    throw new InvalidUpdateException("entry '" + entry.getName() + "' holds " + (bytes.length > entry.getSize()
                            ? "more" : "fewer") + " bytes than its directory declares");
                }
                tensors.add(npy(arrayName(entry.getName()), bytes));
            }
        } catch (ZipException e) {
            throw new InvalidUpdateException("not a readable zip archive", e);
        } catch (IOException e) {
            throw new InvalidUpdateException("cannot be read as a zip archive", e);
        }
        try {
            return new Weights(tensors);
        } catch (IllegalArgumentException e) {
            throw new InvalidUpdateException(e.getMessage(), e);
        }
    }

    private static String arrayName(String entryName) throws InvalidUpdateException {
        Matcher m = ENTRY.matcher(entryName);
        if (!m.matches()) {
            // Paths, traversal, absolute names, odd characters: none of them is an array name.
            throw new InvalidUpdateException("entry '" + printable(entryName) + "' is not named NAME.npy (letters, digits, '_',"
                    + " '-', '.'; no directory part)");
        }
        return m.group(1);
    }

    /** Parses one {@code .npy} file: magic, version, header dict, then exactly the data the shape asks for. */
    static Tensor npy(String name, byte[] b) throws InvalidUpdateException {
        String at = "array '" + name + "': ";
        if (b.length < 10 || !java.util.Arrays.equals(java.util.Arrays.copyOf(b, 6), MAGIC)) {
            throw new InvalidUpdateException(at + "not an .npy file (bad magic)");
        }
        int major = b[6] & 0xff;
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength;
        int start;
        switch (major) {
            case 1 -> {
                headerLength = buf.getShort(8) & 0xffff;
                start = 10;
            }
            case 2, 3 -> {
                if (b.length < 12) {
                    throw new InvalidUpdateException(at + "truncated header");
                }
                headerLength = buf.getInt(8) & 0xffffffffL;
                start = 12;
            }
            default -> throw new InvalidUpdateException(at + "unsupported .npy version " + major);
        }
        if (start + headerLength > b.length) {
            throw new InvalidUpdateException(at + "truncated header");
        }
        String header = new String(b, start, (int) headerLength, StandardCharsets.UTF_8).strip();
        if (!header.startsWith("{") || !header.endsWith("}")) {
            throw new InvalidUpdateException(at + "header is not a dict");
        }
        String descr = null;
        String fortran = null;
        int[] shape = null;
        for (String item : splitTopLevel(header.substring(1, header.length() - 1))) {
            if (item.isBlank()) {
                continue;
            }
            Matcher m = ITEM.matcher(item);
            if (!m.matches()) {
                throw new InvalidUpdateException(at + "header item '" + printable(item) + "' is not 'key': value");
            }
            String value = m.group(2);
            switch (m.group(1)) {
                case "descr" -> descr = value;
                case "fortran_order" -> fortran = value;
                case "shape" -> shape = shape(value, at);
                default -> throw new InvalidUpdateException(at + "unknown header key '" + printable(m.group(1)) + "'");
            }
        }
        if (descr == null || fortran == null || shape == null) {
            throw new InvalidUpdateException(at + "header lacks descr, fortran_order or shape");
        }
        if (!descr.equals("'<f8'")) {
            throw new InvalidUpdateException(at + "dtype " + printable(descr) + " is not little-endian float64 ('<f8')");
        }
        if (!fortran.equals("False")) {
            throw new InvalidUpdateException(at + "Fortran order is not accepted (C order only)");
        }
        long count = 1;
        for (int d : shape) {
            count = Math.multiplyExact(count, d);
        }
        long data = b.length - start - headerLength;
        if (data != count * Double.BYTES) {
            throw new InvalidUpdateException(at + "holds " + data + " data bytes, shape needs " + count * Double.BYTES);
        }
        double[] values = new double[(int) count];
        buf.position((int) (start + headerLength));
        buf.asDoubleBuffer().get(values);
        return new Tensor(name, shape, values);
    }

    private static int[] shape(String text, String at) throws InvalidUpdateException {
        Matcher m = SHAPE.matcher(text);
        if (!m.matches()) {
            throw new InvalidUpdateException(at + "shape " + printable(text) + " is not a tuple of integers");
        }
        List<Integer> dims = new ArrayList<>();
        for (String part : m.group(1).split(",")) {
            if (!part.isBlank()) {
                try {
                    dims.add(Integer.parseInt(part.strip()));
                } catch (NumberFormatException e) {
                    throw new InvalidUpdateException(at + "dimension " + printable(part.strip()) + " is too large");
                }
            }
        }
        if (dims.size() > 32) {
            throw new InvalidUpdateException(at + "more than 32 dimensions");
        }
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    private static List<String> splitTopLevel(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int from = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') depth++;
            if (c == ')') depth--;
            if (c == ',' && depth == 0) {
                out.add(s.substring(from, i));
                from = i + 1;
            }
        }
        out.add(s.substring(from));
        return out;
    }

    /** The deterministic {@code .npz} bytes of {@code weights}. */
    public static byte[] write(Weights weights) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Tensor t : weights.tensors()) {
                byte[] npy = npy(t);
                ZipEntry entry = new ZipEntry(t.name() + ".npy");
                entry.setMethod(ZipEntry.STORED);
                entry.setTimeLocal(FIXED_TIME);
                entry.setSize(npy.length);
                entry.setCompressedSize(npy.length);
                CRC32 crc = new CRC32();
                crc.update(npy);
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(npy);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
        return bytes.toByteArray();
    }

    static byte[] npy(Tensor t) {
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + t.shapeText() + ", }";
        // numpy pads the header with spaces so that magic + version + length + header is a multiple of 64, "\n" last.
        int unpadded = 10 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buf = ByteBuffer.allocate(10 + h.length + t.raw().length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length).put(h);
        for (double v : t.raw()) {
            buf.putDouble(v);
        }
        return buf.array();
    }

    private static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "…" : s;
        StringBuilder b = new StringBuilder();
        cut.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }
}
