package dev.cloister.seal;

import java.util.Comparator;

/**
 * The OMS resource order: by path components, each compared by Unicode code point, so {@code sub/a.txt} sorts
 * before {@code sub-b.txt} ('/' ends a component; it is not compared as a character) and characters outside the
 * BMP sort after U+FFFF (not by UTF-16 unit as {@link String#compareTo} would).
 */
public final class PathOrder implements Comparator<String> {

    public static final PathOrder INSTANCE = new PathOrder();

    private PathOrder() {
    }

    @Override
    public int compare(String a, String b) {
        String[] left = a.split("/", -1);
        String[] right = b.split("/", -1);
        for (int i = 0; i < Math.min(left.length, right.length); i++) {
            int c = compareCodePoints(left[i], right[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(left.length, right.length);
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
