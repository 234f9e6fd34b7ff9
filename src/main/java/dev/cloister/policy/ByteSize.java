package dev.cloister.policy;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A size in bytes, written in policies and specs as {@code 512m}, {@code 2g}, {@code 64k} or plain bytes. */
public record ByteSize(long bytes) implements Comparable<ByteSize> {

    private static final Pattern FORM = Pattern.compile("(\\d{1,12})\\s*([kmgt]?)(i?b)?");

    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("size must not be negative");
        }
    }

    public static ByteSize parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: write a number with an optional unit k, m, g or t (e.g. 512m)");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        if (Long.numberOfLeadingZeros(n) <= shift) {
            throw new IllegalArgumentException("size too large");
        }
        return new ByteSize(n << shift);
    }

    public static ByteSize mebibytes(long n) {
        return new ByteSize(n << 20);
    }

    @Override
    public int compareTo(ByteSize o) {
        return Long.compare(bytes, o.bytes);
    }

    @Override
    public String toString() {
        if (bytes != 0 && bytes % (1L << 30) == 0) return (bytes >> 30) + "g";
        if (bytes != 0 && bytes % (1L << 20) == 0) return (bytes >> 20) + "m";
        if (bytes != 0 && bytes % (1L << 10) == 0) return (bytes >> 10) + "k";
        return Long.toString(bytes);
    }
}
