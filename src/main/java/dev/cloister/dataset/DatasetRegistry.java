package dev.cloister.dataset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Datasets registered by name. A name maps to {@code root/name} and nothing else, so no request can point a job at
 * an arbitrary host path; the directory's content digest is taken at registration and recorded with each job.
 */
public final class DatasetRegistry {

    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private final Path root;
    private final Clock clock;
    private final Map<String, Dataset> byName = new ConcurrentHashMap<>();

    public DatasetRegistry(Path root, Clock clock) {
        this.root = root.toAbsolutePath().normalize();
        this.clock = clock;
    }

    /** Registers (or re-registers, taking a fresh digest) the directory {@code root/name}. */
    public Dataset register(String name) throws DatasetException {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new DatasetException(DatasetException.Kind.INVALID,
                    "dataset name must be lowercase letters, digits, '.', '_' or '-' (a name, never a path)");
        }
        Path dir = root.resolve(name);
        if (!dir.normalize().getParent().equals(root) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new DatasetException(DatasetException.Kind.NOT_FOUND,
                    "no directory '" + name + "' under the datasets root");
        }
        DatasetDigest.Result r;
        try {
            r = DatasetDigest.of(dir);
        } catch (IOException e) {
            throw new DatasetException(DatasetException.Kind.INVALID, "dataset '" + name + "' cannot be registered: "
                    + e.getMessage());
        }
        Dataset d = new Dataset(name, dir, r.digest(), r.files(), r.bytes(), clock.instant());
        byName.put(name, d);
        return d;
    }

    public Optional<Dataset> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public List<Dataset> all() {
        return byName.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }
}
