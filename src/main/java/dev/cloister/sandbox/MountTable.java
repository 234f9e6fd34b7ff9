package dev.cloister.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The per-mount options of a process's mount table ({@code /proc/<pid>/mountinfo}, see proc(5)): the flags that the
 * kernel actually enforces on each mount point (ro, nosuid, nodev, noexec, ...), as opposed to the file system's
 * super-block options.
 */
final class MountTable {

    private final Map<String, Set<String>> optionsByMountPoint;

    private MountTable(Map<String, Set<String>> optionsByMountPoint) {
        this.optionsByMountPoint = optionsByMountPoint;
    }

    static MountTable read(Path mountinfo) throws IOException {
        // Decoded leniently: another mount's odd name must not make our own mounts unreadable.
        return parse(List.of(new String(Files.readAllBytes(mountinfo), StandardCharsets.UTF_8).split("\n")));
    }

    static MountTable parse(List<String> lines) {
        Map<String, Set<String>> options = new HashMap<>();
        for (String line : lines) {
            // id parent major:minor root mount-point mount-options [optional...] - fstype source super-options
            String[] f = line.split(" ");
            if (f.length < 6) {
                continue;
            }
            // Later lines are mounted on top of earlier ones at the same point, so the last one is what is seen.
            options.put(unescape(f[4]), Set.copyOf(Arrays.asList(f[5].split(","))));
        }
        return new MountTable(options);
    }

    /**
     * Which of the wanted mount points lack a wanted option (or are not mounted at all), each described as
     * {@code "<point> has [..], needs [..]"}; empty when every one has all its options.
     */
    List<String> lacking(Map<String, Set<String>> wantByMountPoint) {
        List<String> lacking = new ArrayList<>();
        wantByMountPoint.forEach((point, want) -> {
            Set<String> have = options(point);
            if (have == null || !have.containsAll(want)) {
                lacking.add(point + " has " + (have == null ? "no mount" : new TreeSet<>(have)) + ", needs " + want);
            }
        });
        return lacking;
    }

    /** The options of the mount visible at {@code mountPoint}, or null when nothing is mounted exactly there. */
    Set<String> options(String mountPoint) {
        return optionsByMountPoint.get(mountPoint);
    }

    /** Mount points strictly below {@code dir}, deepest first (the order to unmount them in). */
    List<String> below(String dir) {
        String prefix = dir.endsWith("/") ? dir : dir + "/";
        return optionsByMountPoint.keySet().stream().filter(p -> p.startsWith(prefix))
                .sorted(java.util.Comparator.comparingInt(String::length).reversed().thenComparing(p -> p))
                .toList();
    }

    // The kernel writes space, tab, newline and backslash in mount points as octal escapes (\040 ...).
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
