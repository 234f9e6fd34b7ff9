package dev.cloister.build;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.cloister.audit.AuditLog;
import dev.cloister.digest.Digest;
import dev.cloister.files.AtomicFiles;
import dev.cloister.keys.Signer;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.DockerImageBuilds;
import dev.cloister.sandbox.ResolvedImage;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.seal.Bundles;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;

/**
 * Builds training images under policy: checks the request, the context and the Dockerfile (every problem at once),
 * builds with no network, no pull and no cache, pushes to Cloister's registry, signs SLSA provenance for the result
 * and records both by manifest digest. One build runs at a time; another request meanwhile is refused as busy.
 */
public final class ImageBuilds {

    /** Where builds go and what they may be. */
    public record Settings(String registry, Path workRoot, Path recordDir, BuildContext.Limits limits,
                           String builderId) {
    }

    private static final Pattern REPOSITORY = Pattern.compile(
            "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    static final String PROVENANCE_SUFFIX = ".provenance.sigstore.json";
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private final Policies policies;
    private final DockerImageBuilds engine;
    private final java.util.function.Supplier<Signer> signers;
    private final AuditLog audit;
    private final Settings settings;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Semaphore oneAtATime = new Semaphore(1);

    public ImageBuilds(Policies policies, DockerImageBuilds engine, java.util.function.Supplier<Signer> signers,
                       AuditLog audit, Settings settings, Clock clock) {
        this.policies = policies;
        this.engine = engine;
        this.signers = signers;
        this.audit = audit;
        this.settings = settings;
        this.clock = clock;
    }

    /** Builds, pushes and attests; throws with every reason when refused, with the log tail when a step failed. */
    public BuildRecord build(InputStream contextTar, BuildRequest request, String actor) throws BuildException {
        if (!oneAtATime.tryAcquire()) {
            throw new BuildException(BuildException.Kind.BUSY, "another image build is running; try again when it"
                    + " has finished");
        }
        String id = "build-" + HexFormat.of().formatHex(bytes(16));
        Instant started = clock.instant();
        Path work = settings.workRoot().resolve(id);
        try {
            Files.createDirectories(work);
            try (BuildContext context = BuildContext.readAll(contextTar, work.resolve("context"), settings.limits())) {
                return build(id, context, request, actor, started, work);
            }
        } catch (BuildException e) {
            refused(actor, request, e);
            throw e;
        } catch (IOException e) {
            BuildException failed = new BuildException(BuildException.Kind.ENGINE, "the build context could not be"
                    + " stored: " + e.getMessage());
            refused(actor, request, failed);
            throw failed;
        } finally {
            deleteQuietly(work);
            oneAtATime.release();
        }
    }

    private BuildRecord build(String id, BuildContext context, BuildRequest request, String actor, Instant started,
                              Path work) throws BuildException, IOException {
        List<Violation> violations = new ArrayList<>(context.problems());
        Policy policy = request.policy() == null ? policies.defaultPolicy() : policies.find(request.policy()).orElse(null);
        if (policy == null) {
            violations.add(new Violation("policy", "unknown policy '" + request.policy() + "' (known: "
                    + policies.all().stream().map(Policy::name).toList() + ")"));
        }
        if (policy != null && !policy.allowsTeam(request.team())) {
            violations.add(new Violation("team", "policy '" + policy.name() + "' does not admit team '"
                    + request.team() + "': its images are built under a policy the team may use"));
        }
        String target = settings.registry() + "/" + request.repository();
        if (request.repository() == null || !REPOSITORY.matcher(request.repository()).matches()) {
            violations.add(new Violation("repository", "must be a repository path such as team/image (lowercase"
                    + " path components)"));
        } else if (policy != null && !policy.allowedImageRepositories().contains(target)) {
            violations.add(new Violation("repository", "'" + target + "' is not allowed by policy '" + policy.name()
                    + "': jobs under it could not use the image (allowed: " + policy.allowedImageRepositories() + ")"));
        }
        if (!TAG.matcher(request.tag()).matches()) {
            violations.add(new Violation("tag", "must be letters, digits, '_', '.', '-' (at most 128)"));
        }
        List<String> bases = new ArrayList<>();
        if (policy != null && context.hasDockerfile()) {
            String dockerfile = new String(context.dockerfile(), StandardCharsets.UTF_8);
            try {
                DockerfileCheck.Checked checked = DockerfileCheck.check(dockerfile, request.buildArgs(), policy);
                for (ImageRef base : checked.bases()) {
                    resolveBase(base, violations).ifPresent(bases::add);
                }
            } catch (BuildException e) {
                violations.addAll(e.violations());
            }
        }
        if (!violations.isEmpty()) {
            throw new BuildException(violations);
        }

        String tagged = target + ":" + request.tag();
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("dev.cloister.build.id", id);
        labels.put("dev.cloister.build.context-digest", context.digest().toString());
        // Few labels: the classic builder adds one step (one container) per label; the provenance holds the rest.
        labels.put("dev.cloister.build.policy", policy.name() + "@" + policy.digest());
        Path tar = work.resolve("context.tar");
        try (OutputStream out = Files.newOutputStream(tar)) {
            context.writeTar(out);
        }
        DockerImageBuilds.Built built;
        Digest manifest;
        String engineVersion;
        try (InputStream in = Files.newInputStream(tar)) {
            built = engine.build(in, request.buildArgs(), labels, tagged);
            manifest = engine.push(target, request.tag());
            engineVersion = engine.engineVersion();
        } catch (DockerImageBuilds.BuildFailed e) {
            throw new BuildException(BuildException.Kind.FAILED, "the build failed: " + e.getMessage(),
                    List.of(), e.log());
        } catch (SandboxException e) {
            throw new BuildException(BuildException.Kind.ENGINE, e.getMessage());
        }

        Signer signer = signers.get();
        BuildRecord unsigned = new BuildRecord(id, request.team(), target + "@" + manifest, request.repository(), request.tag(),
                manifest.toString(), built.imageId().toString(), policy.name(), policy.digest().toString(),
                context.digest().toString(), context.dockerfileDigest().toString(), bases, request.buildArgs(),
                settings.builderId(), signer.keyId().hex(), null, started, clock.instant(), built.log());
        byte[] bundle = Bundles.signStatement(signer, BuildProvenance.statement(unsigned, engineVersion));
        BuildRecord record = new BuildRecord(unsigned.id(), unsigned.team(), unsigned.image(), unsigned.repository(), unsigned.tag(),
                unsigned.manifestDigest(), unsigned.imageId(), unsigned.policy(), unsigned.policyDigest(),
                unsigned.contextDigest(), unsigned.dockerfileDigest(), unsigned.bases(), unsigned.buildArgs(),
                unsigned.builderId(), unsigned.keyId(), Digest.of(bundle).toString(), unsigned.startedOn(),
                unsigned.finishedOn(), unsigned.log());
        Files.createDirectories(settings.recordDir());
        // Provenance first: a record is only ever listed with its provenance beside it.
        AtomicFiles.write(settings.recordDir().resolve(manifest.hex() + PROVENANCE_SUFFIX), bundle);
        AtomicFiles.write(settings.recordDir().resolve(manifest.hex() + ".json"), JSON.writeValueAsBytes(record));

        Map<String, Object> details = new LinkedHashMap<>();
        details.put("image", record.image());
        details.put("policy", policy.name());
        details.put("contextDigest", record.contextDigest());
        details.put("dockerfileDigest", record.dockerfileDigest());
        details.put("bases", bases);
        details.put("buildArgs", new java.util.TreeMap<>(request.buildArgs()));
        details.put("provenanceDigest", record.provenanceDigest());
        audit.record(actor, "image.build", id, "built", details);
        return record;
    }

    // A base must be on this host, pinned by its registry digest (an image ID cannot be named in FROM).
    private Optional<String> resolveBase(ImageRef base, List<Violation> violations) throws BuildException {
        try {
            ResolvedImage resolved = engine.resolve(base);
            if (resolved.pinnedBy() != ResolvedImage.PinKind.MANIFEST_DIGEST) {
                violations.add(new Violation("Dockerfile", "FROM " + base + " is pinned by an image ID: push the base"
                        + " to the registry and pin its repository digest"));
                return Optional.empty();
            }
            return Optional.of(base.toString());
        } catch (SandboxException e) {
            if (e.kind() == SandboxException.Kind.IMAGE_NOT_FOUND) {
                violations.add(new Violation("Dockerfile", "FROM " + base + ": " + e.getMessage()));
                return Optional.empty();
            }
            throw new BuildException(BuildException.Kind.ENGINE, e.getMessage());
        }
    }

    /** The record of an image Cloister built, by its manifest digest. */
    public Optional<BuildRecord> find(Digest manifest) {
        try {
            return Optional.of(JSON.readValue(settings.recordDir().resolve(manifest.hex() + ".json").toFile(),
                    BuildRecord.class));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("build record " + manifest + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** The signed provenance bundle of an image Cloister built. */
    public Optional<byte[]> provenance(Digest manifest) {
        try {
            return Optional.of(Files.readAllBytes(settings.recordDir().resolve(manifest.hex() + PROVENANCE_SUFFIX)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("build provenance " + manifest + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** Every recorded build, newest first. */
    public List<BuildRecord> all() {
        if (!Files.isDirectory(settings.recordDir())) {
            return List.of();
        }
        try (var files = Files.list(settings.recordDir())) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("[0-9a-f]{64}\\.json"))
                    .map(n -> find(new Digest(n.substring(0, 64))).orElseThrow())
                    .sorted(java.util.Comparator.comparing(BuildRecord::finishedOn).reversed())
                    .toList();
        } catch (IOException e) {
            throw new IllegalStateException("build records are unreadable: " + e.getMessage(), e);
        }
    }

    private void refused(String actor, BuildRequest request, BuildException e) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("policy", String.valueOf(request.policy()));
        details.put("repository", String.valueOf(request.repository()));
        details.put("buildArgs", new java.util.TreeMap<>(request.buildArgs()));
        details.put("kind", e.kind().name());
        details.put("reason", e.getMessage());
        details.put("violations", e.violations().stream().map(Violation::toString).toList());
        audit.record(actor, "image.build", "-", e.kind() == BuildException.Kind.FAILED ? "failed" : "refused", details);
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Left under the work root; the next build uses another directory.
        }
    }
}
