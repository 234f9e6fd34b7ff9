package dev.cloister.federation;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.files.AtomicFiles;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Federations on disk: {@code <root>/<id>/federation.json}, rewritten atomically on every change, beside the
 * federation's globals, updates, logs, round records and sealed model. Read back whole at start.
 */
final class FederationStore {

    static final String STATE_FILE = "federation.json";
    private static final Logger LOG = Logger.getLogger(FederationStore.class);

    private final Path root;
    private final ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.INDENT_OUTPUT);
    private final Map<String, Federation> byId = new ConcurrentHashMap<>();

    FederationStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** The federation's own directory. */
    Path dir(String id) {
        return root.resolve(new FederationId(id).value());
    }

    /** Reads every stored federation; an unreadable one is logged and skipped. */
    void load() {
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.toList()) {
                Path file = d.resolve(STATE_FILE);
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        Federation f = json.readValue(file.toFile(), Federation.class);
                        byId.put(f.id(), f);
                    } catch (IOException e) {
                        LOG.warnf("federation state %s cannot be read: %s", file, e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
    }

    synchronized void add(Federation f) {
        save(f);
        byId.put(f.id(), f);
    }

    synchronized Federation update(String id, UnaryOperator<Federation> change) {
        Federation next = change.apply(byId.get(id));
        save(next);
        byId.put(id, next);
        return next;
    }

    Optional<Federation> find(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    List<Federation> all() {
        return byId.values().stream().sorted(Comparator.comparing(Federation::submittedAt)).toList();
    }

    private void save(Federation f) {
        try {
            Path dir = dir(f.id());
            Files.createDirectories(dir);
            AtomicFiles.write(dir.resolve(STATE_FILE), json.writeValueAsBytes(f), AtomicFiles.OWNER_ONLY);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the state of federation " + f.id(), e);
        }
    }
}
