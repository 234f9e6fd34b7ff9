package dev.cloister.seal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Paths left out of a manifest: relative POSIX paths from the model root, each a file or a whole directory. */
final class IgnorePaths {

    private final List<String> paths;

    private IgnorePaths(List<String> paths) {
        this.paths = paths;
    }

    /** The OMS defaults followed by {@code extra}, checked, without duplicates. */
    static IgnorePaths of(Collection<String> extra) {
        Set<String> all = new LinkedHashSet<>(ModelManifest.DEFAULT_IGNORE_PATHS);
        for (String path : extra) {
            all.add(check(path));
        }
        return new IgnorePaths(List.copyOf(all));
    }

    List<String> list() {
        return paths;
    }

    /** Whether {@code relative} is an ignored path or lies below one. */
    boolean covers(String relative) {
        for (String path : paths) {
            if (relative.equals(path) || relative.startsWith(path + "/")) {
                return true;
            }
        }
        return false;
    }

    /** Rejects absolute, empty or non-normalised paths; a trailing '/' is dropped. */
    static String check(String path) {
        if (path == null) {
            throw new IllegalArgumentException("an ignore path is null");
        }
        String trimmed = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        if (trimmed.isEmpty() || trimmed.startsWith("/")) {
            throw new IllegalArgumentException("ignore path '" + path + "' must be a relative path inside the model");
        }
        List<String> parts = new ArrayList<>(List.of(trimmed.split("/", -1)));
        for (String part : parts) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("ignore path '" + path + "' must be a normalised relative path");
            }
        }
        return trimmed;
    }
}
