package dev.cloister.image;

import com.google.cloud.tools.jib.api.CacheDirectoryCreationException;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import com.google.cloud.tools.jib.global.JibSystemProperties;
import dev.cloister.digest.Digest;
import dev.cloister.job.ModelOrigin;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.SealException;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds a sealed model's serving image with Jib (no Docker daemon) and pushes it: the base image pinned by digest,
 * plus one layer with the sealed model at {@code /model} and one with the serving code at
 * {@code /opt/cloister/serving}; entrypoint {@code tini -- python3 serve.py}, user 65534:65534, port 8080, OCI and
 * Cloister labels. Layers have fixed owners, modes and timestamps and the image a creation time fixed per model, so
 * building the same sealed model twice gives the same digest. A job's model and a federation's are packaged alike;
 * only the label naming the origin differs ({@value #LABEL_JOB_ID} or {@value #LABEL_FEDERATION_ID}).
 *
 * <p>Plain HTTP is allowed only when the base and the target registries are both on the loopback interface.
 */
public final class ServingImageBuilder {

    /** Label keys Cloister sets besides the {@code org.opencontainers.image.*} ones. */
    public static final String LABEL_MODEL_DIGEST = "dev.cloister.model.digest";
    public static final String LABEL_JOB_ID = "dev.cloister.job-id";
    public static final String LABEL_FEDERATION_ID = "dev.cloister.federation-id";
    public static final String LABEL_POLICY = "dev.cloister.policy";
    public static final String LABEL_TRAINING_PROVENANCE = "dev.cloister.training-provenance.digest";
    public static final String LABEL_DATASET_DIGEST = "dev.cloister.dataset.digest";
    public static final String LABEL_BASE_DIGEST = "org.opencontainers.image.base.digest";
    public static final String LABEL_BASE_NAME = "org.opencontainers.image.base.name";
    public static final String LABEL_CREATED = "org.opencontainers.image.created";

    private static final Logger LOG = Logger.getLogger(ServingImageBuilder.class);

    private final Path cacheDir;
    private final RegistryLimits limits;
    private final Clock clock;

    /**
     * @param cacheDir Jib's layer caches ({@code base/} and {@code application/} below it); shared between builds
     */
    public ServingImageBuilder(Path cacheDir, RegistryLimits limits, Clock clock) {
        this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir").toAbsolutePath().normalize();
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Builds and pushes the serving image of a sealed model.
     *
     * @param base           the serving base, pinned by digest ({@code registry/repository@sha256:<hex>})
     * @param sealedModelDir the model files with {@code model.sig} and {@code provenance.sigstore.json}
     * @param servingCodeDir the serving code; must hold {@code serve.py}
     * @param target         where to push: {@code registry/repository:tag} (no digest)
     * @return the pushed image with its manifest digest and what its attestation will state
     * @throws ImageException listing every problem with the input, or why the build or push failed
     */
    public ServingImage build(ImageReference base, Path sealedModelDir, Path servingCodeDir, ModelMetadata model,
                              ImageReference target) throws ImageException {
        Instant startedOn = clock.instant();
        List<String> problems = new ArrayList<>();
        if (base.digest().isEmpty()) {
            problems.add("base image " + base + " is not pinned by digest: write " + base.name() + "@sha256:<hex>");
        }
        if (target.tag().isEmpty() || target.digest().isPresent()) {
            problems.add("target " + target + " must name a tag and no digest (the digest is the build's result)");
        }
        if (JibSystemProperties.getHttpTimeout() <= 0) {
            problems.add("system property " + JibSystemProperties.HTTP_TIMEOUT + " is 0 (no timeout): registry"
                    + " calls must be bounded");
        }
        if (!problems.isEmpty()) {
            throw new ImageException(problems);
        }
        SealedModelDir sealed = SealedModelDir.read(sealedModelDir, model);
        ModelManifest serving = servingCode(servingCodeDir);

        JibContainerBuilder image = Jib.from(registryImage(base))
                .setFormat(ImageFormat.OCI)
                .setCreationTime(model.created())
                .setFileEntriesLayers(ServingLayers.model(sealed), ServingLayers.servingCode(
                        servingCodeDir.toAbsolutePath().normalize(),
                        serving.resources().stream().map(ModelManifest.Resource::name).toList()))
                .setEntrypoint(ServingLayers.ENTRYPOINT)
                .setUser(ServingLayers.USER)
                .addExposedPort(Port.tcp(ServingLayers.PORT))
                .setLabels(labels(base, model, sealed));
        Digest digest = push(image, base, target);
        LOG.infof("pushed serving image %s@%s for %s", target, digest, model.origin());
        return new ServingImage(target.withDigest(digest), base, model, sealed.trainingProvenance(), sealed.datasets(),
                serving.rootDigest(), startedOn, clock.instant());
    }

    static Map<String, String> labels(ImageReference base, ModelMetadata model, SealedModelDir sealed) {
        Map<String, String> labels = new TreeMap<>();
        labels.put(LABEL_CREATED, model.created().toString());
        labels.put("org.opencontainers.image.title", "Cloister model " + model.origin().id());
        labels.put("org.opencontainers.image.description", "Sealed model of " + model.origin()
                + " at /model, served by /opt/cloister/serving/serve.py on port " + ServingLayers.PORT);
        labels.put(LABEL_BASE_NAME, base.name());
        labels.put(LABEL_BASE_DIGEST, base.digest().orElseThrow().toString());
        labels.put(LABEL_MODEL_DIGEST, model.modelDigest().toString());
        labels.put(originLabel(model.origin().kind()), model.origin().id());
        labels.put(LABEL_POLICY, model.policy());
        labels.put(LABEL_TRAINING_PROVENANCE, sealed.trainingProvenance().toString());
        if (!sealed.datasets().isEmpty()) {
            // One digest for a job; a federation's site data sets, comma-separated in the provenance's order.
            labels.put(LABEL_DATASET_DIGEST, String.join(",", sealed.datasets().stream()
                    .map(d -> d.digest().toString()).toList()));
        }
        return labels;
    }

    /** The label that names the model's origin: the job id, or the federation id. */
    static String originLabel(ModelOrigin.Kind kind) {
        return kind == ModelOrigin.Kind.JOB ? LABEL_JOB_ID : LABEL_FEDERATION_ID;
    }

    private static ModelManifest servingCode(Path dir) throws ImageException {
        ModelManifest code;
        try {
            code = ModelManifest.hash(dir, List.of());
        } catch (SealException e) {
            throw new ImageException(e.problems().stream().map(p -> "serving code: " + p).toList());
        }
        if (code.resources().stream().noneMatch(r -> r.name().equals(ServingLayers.SERVE_SCRIPT))) {
            throw new ImageException("serving code directory " + dir + " has no " + ServingLayers.SERVE_SCRIPT);
        }
        return code;
    }

    private Digest push(JibContainerBuilder image, ImageReference base, ImageReference target) throws ImageException {
        ExecutorService executor = Executors.newCachedThreadPool(daemonThreads());
        Future<JibContainer> run = null;
        try {
            Containerizer containerizer = Containerizer.to(registryImage(target))
                    .setAllowInsecureRegistries(base.isLoopback() && target.isLoopback())
                    .setBaseImageLayersCache(cacheDir.resolve("base"))
                    .setApplicationLayersCache(cacheDir.resolve("application"))
                    .setExecutorService(executor)
                    .setToolName("cloister")
                    .addEventHandler(LogEvent.class, ServingImageBuilder::log);
            run = executor.submit(() -> image.containerize(containerizer));
            JibContainer pushed = run.get(limits.buildTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return Digest.parse(pushed.getDigest().toString());
        } catch (TimeoutException e) {
            run.cancel(true);
            throw new ImageException("building " + target + " did not finish within " + limits.buildTimeout(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted while building " + target, e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof ExecutionException inner && inner.getCause() != null
                    ? inner.getCause() : e.getCause();
            throw new ImageException("building " + target + " from " + base + " failed: " + describe(cause), cause);
        } finally {
            executor.shutdownNow();
        }
    }

    private static String describe(Throwable cause) {
        if (cause instanceof CacheDirectoryCreationException) {
            return "cannot create Jib's cache directory: " + cause.getMessage();
        }
        String message = cause.getMessage();
        if (cause.getCause() != null && cause.getCause().getMessage() != null
                && (message == null || !message.contains(cause.getCause().getMessage()))) {
            message = (message == null ? "" : message + ": ") + cause.getCause().getMessage();
        }
        return message == null ? cause.getClass().getSimpleName() : message;
    }

    private static RegistryImage registryImage(ImageReference ref) throws ImageException {
        try {
            return RegistryImage.named(ref.toString());
        } catch (InvalidImageReferenceException e) {
            throw new ImageException("Jib cannot parse image reference " + ref, e);
        }
    }

    private static void log(LogEvent event) {
        // Jib warns each time it falls back to plain HTTP; for a loopback registry that is the expected path.
        boolean fallback = event.getMessage().contains("Attempting again with");
        switch (event.getLevel()) {
            case ERROR -> LOG.warnf("jib: %s", event.getMessage());
            case WARN -> {
                if (fallback) {
                    LOG.debugf("jib: %s", event.getMessage());
                } else {
                    LOG.warnf("jib: %s", event.getMessage());
                }
            }
            case LIFECYCLE, INFO -> LOG.debugf("jib: %s", event.getMessage());
            default -> LOG.tracef("jib: %s", event.getMessage());
        }
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread thread = new Thread(task, "cloister-jib-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    @Override
    public String toString() {
        return "ServingImageBuilder[cache=" + cacheDir + ", buildTimeout=" + limits.buildTimeout() + "]";
    }
}
