package dev.cloister.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
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
 *
 * <p>Signed datasets. A dataset may come with a Sigstore bundle signed by the owning team's CI, given either in the
 * registration request or as the file {@code root/<name>.sigstore.json} beside the dataset directory (not inside it,
 * so the bundle is neither part of the data nor visible to jobs). When the request carries a bundle, that one is used
 * and the file is not read. What the bundle signs is decided by {@link SignedContent}: the dataset's only file, or its
 * {@code MANIFEST.sha256}. A bundle is verified at registration, offline, and a dataset whose bundle does not verify
 * is refused rather than registered as unsigned; admission verifies it again under the job's policy.
 */
public final class DatasetRegistry {

    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    /** Suffix of the bundle file kept beside a dataset directory: {@code root/<name>.sigstore.json}. */
    public static final String BUNDLE_SUFFIX = ".sigstore.json";

    private final Path root;
    private final Clock clock;
    private final Map<String, Dataset> byName = new ConcurrentHashMap<>();

    private final DatasetStore store;

    /** A registry whose registrations end with the process (tools and tests). */
    public DatasetRegistry(Path root, Clock clock) {
        this(root, clock, DatasetStore.none());
    }

    /** A registry that keeps its registrations in {@code store} and starts with those already there. */
    public DatasetRegistry(Path root, Clock clock, DatasetStore store) {
        this.root = root.toAbsolutePath().normalize();
        this.clock = clock;
        this.store = store;
        store.loadAll().forEach(d -> byName.put(d.name(), d));
    }

    /** A team name, as tokens, job specs, datasets and policies carry it. */
    public static final Pattern TEAM = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    /**
     * Registers (or re-registers, taking a fresh digest) the directory {@code root/name} for {@code team}; see the
     * class comment.
     */
    public Dataset register(String name, String team) throws DatasetException {
        return register(name, team, null, Map.of());
    }

    /**
     * Registers (or re-registers) {@code root/name} for {@code team}, verifying its signature when it has one. A
     * dataset keeps its owning team: registering it again for another team is a conflict.
     *
     * @param bundleJson the Sigstore bundle given with the request, or null to use {@code root/<name>.sigstore.json}
     *                   if that file exists
     * @param candidates the signature requirements that may accept the dataset, keyed by the policy stating each; a
     *                   signed dataset is registered when any one of them accepts its signature
     */
    public synchronized Dataset register(String name, String team, String bundleJson,
                                         Map<String, SignatureRequirement> candidates) throws DatasetException {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new DatasetException(DatasetException.Kind.INVALID,
                    "dataset name must be lowercase letters, digits, '.', '_' or '-' (a name, never a path)");
        }
        if (team == null || !TEAM.matcher(team).matches()) {
            throw new DatasetException(DatasetException.Kind.INVALID, DatasetException.FIELD_TEAM,
                    "team must be a team name (lowercase letters, digits, '-', '_')");
        }
        Dataset existing = byName.get(name);
        if (existing != null && !existing.ownedBy(team)) {
            throw new DatasetException(DatasetException.Kind.CONFLICT, DatasetException.FIELD_TEAM,
                    "dataset '" + name + "' belongs to another team; it is not re-registered for team '" + team + "'");
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
        DatasetSignature.Source source = DatasetSignature.Source.REQUEST;
        if (bundleJson == null) {
            bundleJson = besideBundle(name);
            source = DatasetSignature.Source.BESIDE_DATA;
        }
        DatasetSignature signature = null;
        if (bundleJson != null) {
            try {
                signature = DatasetSignatures.verify(dir, r, bundleJson, source, candidates);
            } catch (DatasetException e) {
                throw SigstoreCheck.refusal("signature of dataset '" + name + "' ("
                        + (source == DatasetSignature.Source.REQUEST ? "from the request" : name + BUNDLE_SUFFIX)
                        + ") refused: " + e.getMessage());
            }
        }
        Dataset d = new Dataset(name, team, dir, r.digest(), r.files(), r.bytes(),
                clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MICROS), signature); // as the database keeps it
        store.save(d);
        byName.put(name, d);
        return d;
    }

    private String besideBundle(String name) throws DatasetException {
        Path file = root.resolve(name + BUNDLE_SUFFIX);
        if (Files.isSymbolicLink(file)) {
            throw SigstoreCheck.refusal(name + BUNDLE_SUFFIX + " is a symlink; keep the bundle as a regular file");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(SigstoreCheck.MAX_BUNDLE_CHARS + 1);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw SigstoreCheck.refusal(name + BUNDLE_SUFFIX + " cannot be read: " + e.getMessage());
        }
        if (bytes.length > SigstoreCheck.MAX_BUNDLE_CHARS) {
            throw SigstoreCheck.refusal(name + BUNDLE_SUFFIX + " is larger than " + SigstoreCheck.MAX_BUNDLE_CHARS
                    + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw SigstoreCheck.refusal(name + BUNDLE_SUFFIX + " is not UTF-8 JSON");
        }
    }

    /** The content digest of a dataset directory as it is now, taken as registration takes it. */
    public static dev.cloister.digest.Digest contentDigest(Path dir) throws IOException {
        return DatasetDigest.of(dir).digest();
    }

    public Optional<Dataset> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The dataset {@code name} if {@code team} owns it: another team's dataset is not found, exactly like none. */
    public Optional<Dataset> find(String name, String team) {
        return find(name).filter(d -> d.ownedBy(team));
    }

    public List<Dataset> all() {
        return byName.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }
}
