package dev.cloister.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import com.google.cloud.tools.jib.event.events.TimerEvent;
import dev.cloister.digest.Digest;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageSigner;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.ModelMetadata;
import dev.cloister.image.RegistryLimits;
import dev.cloister.image.ServingImage;
import dev.cloister.image.ServingImageBuilder;
import dev.cloister.image.VerifiedImage;
import dev.cloister.job.JobId;
import dev.cloister.keys.HostKeys;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.ProvenanceFacts;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.ssl.HttpsURLConnection;

/**
 * Benchmark (a main class, not a test) for the serving image's performance requirements; run by
 * {@code deploy/bench/image/run.sh}, which documents the method. Modes (arguments are {@code key=value}):
 *
 * <ul>
 *   <li>{@code prepare dir=D kind=same|new [count=K]}: writes build contexts {@code D/ctx-<k>} (model/, serving/,
 *       Dockerfile, meta.properties). {@code same} copies the sealed example model unchanged; {@code new} copies
 *       it, changes metrics.json (a nonce) and reseals it as a new job with a throwaway host key.</li>
 *   <li>{@code build out=D work=D n=N warmup=W}: interleaved ServingImageBuilder.build (in process) vs
 *       {@code docker build} (classic builder) + {@code docker push}, and + a cache-friendly reordering of the
 *       Dockerfile, for the "same content again" and the "new model" cases.</li>
 *   <li>{@code once ctx=D tag=T cache=D}: one ServingImageBuilder.build in this JVM (for whole-process timing).</li>
 *   <li>{@code profile out=D work=D n=N}: the production layers through Jib with its timer events, to see where
 *       a Jib build spends its time, as ServingImageBuilder configures Jib and with alwaysCacheBaseImage.</li>
 *   <li>{@code verify out=D work=D warmup=W n=N}: signs one image and times ImageVerifier.verify.</li>
 * </ul>
 */
public final class ImageBenchmark {

    static final String REGISTRY = "127.0.0.1:5000";
    static final String REPO = "cloister/bench";
    static final Path BASE_REF = Path.of("/var/lib/cloister/images/serving-base.ref");
    static final Path ARTIFACTS = Path.of("/var/lib/cloister/artifacts");
    static final Path SERVING_APP = Path.of("deploy/serving/app");
    static final char[] PASS = "bench-throwaway".toCharArray();
    static final ObjectMapper JSON = new ObjectMapper();
    static final SecureRandom RANDOM = new SecureRandom();
    static final String RUN = HexFormat.of().formatHex(RANDOM.generateSeed(3));

    private ImageBenchmark() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: ImageBenchmark prepare|build|once|profile|verify key=value...");
            System.exit(2);
        }
        Map<String, String> a = new TreeMap<>();
        for (int i = 1; i < argv.length; i++) {
            int eq = argv[i].indexOf('=');
            a.put(argv[i].substring(0, eq), argv[i].substring(eq + 1));
        }
        switch (argv[0]) {
            case "prepare" -> prepareMode(a);
            case "build" -> buildMode(a);
            case "once" -> onceMode(a);
            case "profile" -> profileMode(a);
            case "verify" -> verifyMode(a);
            default -> throw new IllegalArgumentException("unknown mode " + argv[0]);
        }
        System.exit(0); // Jib's and the HTTP client's pools hold no work, but do not wait for them
    }

    // ---------------------------------------------------------------- contexts

    /** A build context: model/ (sealed), serving/ (serve.py), Dockerfile; and the control plane's metadata. */
    record Ctx(Path dir, ModelMetadata meta) {
        Path model() {
            return dir.resolve("model");
        }

        Path serving() {
            return dir.resolve("serving");
        }
    }

    static ImageReference base() throws IOException {
        return ImageReference.parse(Files.readString(BASE_REF).strip());
    }

    /** The first sealed example job with model.npz, model.sig and provenance.sigstore.json. */
    static Path artifact(Map<String, String> a) throws IOException {
        if (a.containsKey("artifact")) {
            return Path.of(a.get("artifact"));
        }
        try (Stream<Path> dirs = Files.list(ARTIFACTS)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("job-"))
                    .filter(d -> Stream.of("model.npz", ModelSigner.SIGNATURE_FILE, JobSealer.PROVENANCE_FILE)
                            .allMatch(f -> Files.isRegularFile(d.resolve(f))))
                    .sorted().findFirst()
                    .orElseThrow(() -> new IllegalStateException("no sealed example model under " + ARTIFACTS));
        }
    }

    static JsonNode statement(Path provenance) throws IOException {
        JsonNode bundle = JSON.readTree(provenance.toFile());
        return JSON.readTree(Base64.getDecoder().decode(bundle.path("dsseEnvelope").path("payload").asText()));
    }

    /** Copies the sealed example as it is (the "same content" case). */
    static Ctx prepareSame(Path dir, Path artifact, ImageReference base) throws IOException {
        copyModel(artifact, dir.resolve("model"), true);
        JsonNode st = statement(artifact.resolve(JobSealer.PROVENANCE_FILE));
        JsonNode pred = st.path("predicate");
        ModelMetadata meta = new ModelMetadata(new JobId(pred.path("runDetails").path("metadata").path("invocationId").asText()),
                new Digest(st.path("subject").get(0).path("digest").path("sha256").asText()),
                pred.path("buildDefinition").path("internalParameters").path("policy").path("name").asText(),
                Instant.parse(pred.path("runDetails").path("metadata").path("finishedOn").asText()));
        return finish(dir, meta, base);
    }

    /** Copies the example's model files, changes metrics.json, and seals it as a new job (the "new model" case). */
    static Ctx prepareNew(Path dir, Path artifact, ImageReference base, HostKeys keys, String nonce) throws Exception {
        Path model = dir.resolve("model");
        copyModel(artifact, model, false);
        Path metrics = model.resolve("metrics.json");
        String m = Files.readString(metrics).strip();
        Files.writeString(metrics, m.substring(0, m.lastIndexOf('}')).stripTrailing() + ",\n  \"bench_nonce\": \""
                + nonce + "\"\n}\n");
        JsonNode st = statement(artifact.resolve(JobSealer.PROVENANCE_FILE));
        JsonNode build = st.path("predicate").path("buildDefinition");
        JsonNode internal = build.path("internalParameters");
        String policy = internal.path("policy").path("name").asText();
        JsonNode image = build.path("resolvedDependencies").get(0);
        JsonNode dataset = build.path("resolvedDependencies").get(1);
        JobId job = JobId.random(RANDOM);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        ProvenanceFacts facts = new ProvenanceFacts(job.value(), "urn:cloister:host:bench",
                JSON.writeValueAsString(build.path("externalParameters").path("jobSpec")), policy,
                Digest.parse(internal.path("policy").path("digest").asText()),
                internal.path("seccompProfile").path("name").asText(),
                Digest.parse(internal.path("seccompProfile").path("digest").asText()),
                internal.path("runtime").asText(), internal.path("user").asText(), Map.of("pids", 128),
                image.path("uri").asText().replaceFirst("^docker-image://", ""),
                new Digest(image.path("digest").path("sha256").asText()), "IMAGE_ID",
                dataset.path("uri").asText().replaceFirst("^cloister-dataset:", ""),
                new Digest(dataset.path("digest").path("sha256").asText()), null, null, now, now, now);
        JobSealer.Seal seal = new JobSealer(keys::signer, 2).seal(model, facts);
        return finish(dir, new ModelMetadata(job, seal.manifest().rootDigest(), policy, now), base);
    }

    static void copyModel(Path from, Path to, boolean withSeal) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (withSeal || !(name.equals(ModelSigner.SIGNATURE_FILE) || name.equals(JobSealer.PROVENANCE_FILE))) {
                    Files.copy(f, to.resolve(name));
                }
            }
        }
    }

    /** serving/, the Dockerfile, meta.properties; modes as Jib writes them (files 0644, directories 0755). */
    static Ctx finish(Path dir, ModelMetadata meta, ImageReference base) throws IOException {
        Path serving = dir.resolve("serving");
        Files.createDirectories(serving);
        try (Stream<Path> files = Files.list(SERVING_APP)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, serving.resolve(f.getFileName()));
            }
        }
        Ctx ctx = new Ctx(dir, meta);
        Files.writeString(dir.resolve("Dockerfile"), dockerfile(base, ctx, false));
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Properties props = new Properties();
        props.setProperty("jobId", meta.origin().id());
        props.setProperty("modelDigest", meta.modelDigest().toString());
        props.setProperty("policy", meta.policy());
        props.setProperty("created", meta.created().toString());
        try (OutputStream out = Files.newOutputStream(dir.resolve("meta.properties"))) {
            props.store(out, "ModelMetadata for ServingImageBuilder");
        }
        return ctx;
    }

    static Ctx load(Path dir) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve("meta.properties"))) {
            p.load(in);
        }
        return new Ctx(dir, new ModelMetadata(new JobId(p.getProperty("jobId")), Digest.parse(p.getProperty("modelDigest")),
                p.getProperty("policy"), Instant.parse(p.getProperty("created"))));
    }

    /**
     * The same image as ServingImageBuilder's: base by digest, the model at /model, serve.py at
     * /opt/cloister/serving (root-owned; modes from the context, set to 0644/0755 like Jib's), user, port,
     * entrypoint and the same labels (one LABEL instruction, last, so it is one step).
     */
    static String dockerfile(ImageReference base, Ctx ctx, boolean reordered) {
        ModelMetadata m = ctx.meta();
        Map<String, String> labels = new TreeMap<>();
        labels.put(ServingImageBuilder.LABEL_CREATED, m.created().toString());
        labels.put("org.opencontainers.image.title", "Cloister model " + m.origin().id());
        labels.put("org.opencontainers.image.description", "Sealed model of " + m.origin()
                + " at /model, served by /opt/cloister/serving/serve.py on port 8080");
        labels.put(ServingImageBuilder.LABEL_BASE_NAME, base.name());
        labels.put(ServingImageBuilder.LABEL_BASE_DIGEST, base.digest().orElseThrow().toString());
        labels.put(ServingImageBuilder.LABEL_MODEL_DIGEST, m.modelDigest().toString());
        labels.put(ServingImageBuilder.LABEL_JOB_ID, m.origin().id());
        labels.put(ServingImageBuilder.LABEL_POLICY, m.policy());
        StringBuilder label = new StringBuilder("LABEL");
        labels.forEach((k, v) -> label.append(" \\\n    ").append(k).append("=\"").append(v).append('"'));
        String config = "USER 65534:65534\n"
                + "EXPOSE 8080\n"
                + "ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"python3\", \"/opt/cloister/serving/serve.py\"]\n";
        return reordered
                ? "FROM " + base + "\n" + config + "COPY serving/ /opt/cloister/serving/\nCOPY model/ /model/\n" + label + "\n"
                : "FROM " + base + "\nCOPY model/ /model/\nCOPY serving/ /opt/cloister/serving/\n" + config + label + "\n";
    }

    /**
     * The same files in a new directory (new mtimes, so docker makes new layer blobs rather than re-using the other
     * build's) with a cache-friendly Dockerfile: what changes least first (user, port, entrypoint, serving code),
     * then the model, then the labels. Same files and config as the image ServingImageBuilder makes; the two layers
     * are in the other order.
     */
    static Ctx reordered(Ctx ctx, ImageReference base) throws IOException {
        Path dir = ctx.dir().resolveSibling(ctx.dir().getFileName() + "-reordered");
        try (Stream<Path> all = Files.walk(ctx.dir())) {
            for (Path p : all.toList()) {
                Path to = dir.resolve(ctx.dir().relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
                Files.setPosixFilePermissions(to, PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Ctx copy = new Ctx(dir, ctx.meta());
        Files.writeString(dir.resolve("Dockerfile"), dockerfile(base, copy, true));
        return copy;
    }

    static void prepareMode(Map<String, String> a) throws Exception {
        Path dir = Path.of(a.get("dir"));
        int count = Integer.parseInt(a.getOrDefault("count", "1"));
        ImageReference base = base();
        Path artifact = artifact(a);
        HostKeys keys = a.get("kind").equals("new") ? HostKeys.open(dir.resolve("keys"), PASS) : null;
        for (int k = 0; k < count; k++) {
            Path ctx = dir.resolve("ctx-" + k);
            if (keys != null) {
                prepareNew(ctx, artifact, base, keys, RUN + "-" + k);
            } else {
                prepareSame(ctx, artifact, base);
            }
            System.out.println(ctx);
        }
        if (keys != null) {
            keys.close();
        }
    }

    // ---------------------------------------------------------------- build: Jib vs docker

    static ServingImageBuilder builder(Path cache) {
        return new ServingImageBuilder(cache, RegistryLimits.DEFAULTS, Clock.systemUTC());
    }

    static ImageReference target(String tool, String tag) {
        return ImageReference.parse(REGISTRY + "/" + REPO + "/" + tool + ":" + tag);
    }

    /** One timed Jib build + push, in process. */
    static double jib(ServingImageBuilder builder, ImageReference base, Ctx ctx, ImageReference target,
                      List<String> digests) throws Exception {
        long t0 = System.nanoTime();
        ServingImage image = builder.build(base, ctx.model(), ctx.serving(), ctx.meta(), target);
        long t1 = System.nanoTime();
        digests.add(image.digest().toString());
        return (t1 - t0) / 1e6;
    }

    /** One timed {@code docker build} (classic builder, no network) and {@code docker push}: {build, push} ms. */
    static double[] docker(Ctx ctx, ImageReference target, Path log) throws Exception {
        long t0 = System.nanoTime();
        run(log, List.of("docker", "build", "--network", "none", "-q", "-t", target.toString(), ctx.dir().toString()));
        long t1 = System.nanoTime();
        run(log, List.of("docker", "push", "-q", target.toString()));
        long t2 = System.nanoTime();
        return new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6};
    }

    static void run(Path log, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("DOCKER_BUILDKIT", "0");
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + command);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("failed (" + p.exitValue() + "): " + command + "; see " + log);
        }
    }

    static double load() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    record Row(String kase, int iter, String order, double jib, double dBuild, double dPush, double rBuild,
               double rPush, double load) {
        double docker() {
            return dBuild + dPush;
        }

        double reordered() {
            return rBuild + rPush;
        }
    }

    static void buildMode(Map<String, String> a) throws Exception {
        Path out = Path.of(a.get("out"));
        Path work = Path.of(a.get("work"));
        int n = Integer.parseInt(a.getOrDefault("n", "9"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "3"));
        List<String> cases = List.of(a.getOrDefault("cases", "same,new").split(","));
        Files.createDirectories(out);
        Path log = out.resolve("docker.log");
        ImageReference base = base();
        Path artifact = artifact(a);
        ServingImageBuilder builder = builder(work.resolve("jib-cache"));
        HostKeys keys = HostKeys.open(work.resolve("keys"), PASS);
        List<String> images = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        System.out.printf("artifact %s, base %s, run %s%n", artifact, base, RUN);

        // Warm-up: JIT, Jib's caches, the base layer in both bench repositories, docker's build cache.
        Ctx same = prepareSame(work.resolve("same"), artifact, base);
        Ctx sameReordered = reordered(same, base);
        for (int i = 0; i < warmup; i++) {
            Ctx fresh = prepareNew(work.resolve("warm-" + i), artifact, base, keys, RUN + "-w" + i);
            String tag = RUN + "-warm-" + i;
            double j = jib(builder, base, fresh, target("jib", tag), digests);
            double[] d = docker(fresh, target("docker", tag), log);
            double[] r = docker(reordered(fresh, base), target("docker-reordered", tag), log);
            double js = jib(builder, base, same, target("jib", tag + "-same"), digests);
            double[] ds = docker(same, target("docker", tag + "-same"), log);
            double[] rs = docker(sameReordered, target("docker-reordered", tag + "-same"), log);
            images.add(target("docker", tag).toString());
            images.add(target("docker", tag + "-same").toString());
            images.add(target("docker-reordered", tag).toString());
            images.add(target("docker-reordered", tag + "-same").toString());
            System.out.printf("warm-up %d: new jib %.0f docker %.0f+%.0f reordered %.0f+%.0f; same jib %.0f docker"
                    + " %.0f+%.0f reordered %.0f+%.0f ms%n", i, j, d[0], d[1], r[0], r[1], js, ds[0], ds[1], rs[0],
                    rs[1]);
        }

        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (String kase : cases) {
                Ctx ctx = kase.equals("same") ? same
                        : prepareNew(work.resolve("new-" + i), artifact, base, keys, RUN + "-" + i);
                Ctx reordered = kase.equals("same") ? sameReordered : reordered(ctx, base);
                String tag = RUN + "-" + kase + "-" + i;
                double l = load();
                double j = 0;
                double[] d = null;
                double[] re = null;
                // Rotate the order: jib, docker, reordered / docker, reordered, jib / reordered, jib, docker.
                List<String> order = List.of("jib", "docker", "reordered", "jib", "docker").subList(i % 3, i % 3 + 3);
                for (String tool : order) {
                    switch (tool) {
                        case "jib" -> j = jib(builder, base, ctx, target("jib", tag), digests);
                        case "docker" -> d = docker(ctx, target("docker", tag), log);
                        default -> re = docker(reordered, target("docker-reordered", tag), log);
                    }
                }
                images.add(target("docker", tag).toString());
                images.add(target("docker-reordered", tag).toString());
                Row r = new Row(kase, i, String.join(",", order), j, d[0], d[1], re[0], re[1], l);
                rows.add(r);
                System.out.printf("%-4s %2d (%s, load %.2f): jib %6.1f  docker %6.1f + %6.1f = %6.1f  reordered"
                        + " %6.1f + %6.1f = %6.1f  ratio %.2f%n", kase, i, r.order(), l, j, d[0], d[1], r.docker(),
                        re[0], re[1], r.reordered(), j / r.docker());
            }
        }
        keys.close();

        try (PrintStream tsv = new PrintStream(Files.newOutputStream(out.resolve("builds.tsv")), true,
                StandardCharsets.UTF_8)) {
            tsv.println("case\titer\torder\tjib_ms\tdocker_build_ms\tdocker_push_ms\tdocker_total_ms"
                    + "\treordered_build_ms\treordered_push_ms\treordered_total_ms\tload1");
            for (Row r : rows) {
                tsv.printf(Locale.ROOT, "%s\t%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f%n", r.kase(),
                        r.iter(), r.order(), r.jib(), r.dBuild(), r.dPush(), r.docker(), r.rBuild(), r.rPush(),
                        r.reordered(), r.load());
            }
        }
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "In-process Jib (after %d warm-ups) vs docker build + docker push, N=%d"
                + " interleaved (rotating which goes first); ms. \"reordered\": the cache-friendly Dockerfile"
                + " (config and serving code before the model; informative).%n%n", warmup, n));
        md.append("| case | Jib median | docker build median | docker push median | docker build+push median |"
                + " ratio of medians | median of paired ratios | Jib p90 | docker p90 | reordered build+push median |"
                + " ratio to reordered | load1 median |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String kase : cases) {
            List<Row> rs = rows.stream().filter(r -> r.kase().equals(kase)).toList();
            double jm = median(rs.stream().map(Row::jib).toList());
            double dm = median(rs.stream().map(Row::docker).toList());
            double rm = median(rs.stream().map(Row::reordered).toList());
            md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.0f |"
                    + " %.2f | %.2f |%n", kase, jm, median(rs.stream().map(Row::dBuild).toList()),
                    median(rs.stream().map(Row::dPush).toList()), dm, jm / dm,
                    median(rs.stream().map(r -> r.jib() / r.docker()).toList()),
                    pct(rs.stream().map(Row::jib).toList(), 90), pct(rs.stream().map(Row::docker).toList(), 90), rm,
                    jm / rm, median(rs.stream().map(Row::load).toList())));
        }
        Files.writeString(out.resolve("builds.md"), md);
        System.out.print(md);
        Files.write(out.resolve("docker-images.txt"), images);
    }

    static void onceMode(Map<String, String> a) throws Exception {
        long mainAt = System.currentTimeMillis();
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        Ctx ctx = load(Path.of(a.get("ctx")));
        List<String> digests = new ArrayList<>();
        double ms = jib(builder(Path.of(a.get("cache"))), base(), ctx, target("jib", a.get("tag")), digests);
        System.out.printf(Locale.ROOT, "jvm_to_main_ms=%d build_ms=%.1f digest=%s%n", mainAt - jvmStart, ms,
                digests.get(0));
    }

    // ---------------------------------------------------------------- profile: where Jib's time goes

    /**
     * The production layers (ServingLayers, by reflection: it is package-private) through the same Jib calls as
     * ServingImageBuilder, with a handler for Jib's timer events; plus the input checks ServingImageBuilder does
     * before Jib (hashing the sealed model and the serving code).
     */
    static void profileMode(Map<String, String> a) throws Exception {
        Path out = Path.of(a.get("out"));
        Path work = Path.of(a.get("work"));
        int n = Integer.parseInt(a.getOrDefault("n", "7"));
        Files.createDirectories(out);
        ImageReference base = base();
        Path artifact = artifact(a);
        HostKeys keys = HostKeys.open(work.resolve("keys"), PASS);
        Class<?> layers = Class.forName("dev.cloister.image.ServingLayers");
        Method layer = layers.getDeclaredMethod("layer", String.class, Path.class, List.class, AbsoluteUnixPath.class);
        layer.setAccessible(true);
        StringBuilder md = new StringBuilder();
        Ctx same = prepareSame(work.resolve("same"), artifact, base);
        // ServingImageBuilder's Containerizer (alwaysCacheBaseImage false, Jib's default), then the same with
        // Containerizer.setAlwaysCacheBaseImage(true): Jib keeps the base layers locally and, for a base pinned by
        // digest whose layers are all cached, skips pulling its manifest and config from the registry.
        for (String variant : List.of("new", "same", "new+cacheBase", "same+cacheBase")) {
            String kase = variant.substring(0, variant.indexOf('+') < 0 ? variant.length() : variant.indexOf('+'));
            boolean cacheBase = variant.endsWith("+cacheBase");
            Path cache = work.resolve(cacheBase ? "jib-cache-base" : "jib-cache");
            // description (digests and sizes taken out) -> per build: {calls, longest, sum}
            Map<String, List<double[]>> timers = new TreeMap<>();
            List<Double> hash = new ArrayList<>();
            List<Double> totals = new ArrayList<>();
            List<Double> fallbackCounts = new ArrayList<>();
            for (int i = -3; i < n; i++) {
                Ctx ctx = kase.equals("same") ? same
                        : prepareNew(work.resolve("p-" + variant + "-" + (i + 3)), artifact, base, keys,
                                RUN + "-p" + i);
                long t0 = System.nanoTime();
                ModelManifest model = ModelManifest.hash(ctx.model(), List.of(ModelSigner.SIGNATURE_FILE,
                        JobSealer.PROVENANCE_FILE));
                ModelManifest code = ModelManifest.hash(ctx.serving(), List.of());
                long t1 = System.nanoTime();
                List<String> files = new ArrayList<>(model.resources().stream().map(ModelManifest.Resource::name)
                        .toList());
                files.add(ModelSigner.SIGNATURE_FILE);
                files.add(JobSealer.PROVENANCE_FILE);
                FileEntriesLayer modelLayer = (FileEntriesLayer) layer.invoke(null, "model",
                        ctx.model().toAbsolutePath(), files, AbsoluteUnixPath.get("/model"));
                FileEntriesLayer codeLayer = (FileEntriesLayer) layer.invoke(null, "serving-code",
                        ctx.serving().toAbsolutePath(), code.resources().stream().map(ModelManifest.Resource::name)
                                .toList(), AbsoluteUnixPath.get("/opt/cloister/serving"));
                JibContainerBuilder image = Jib.from(RegistryImage.named(base.toString())).setFormat(ImageFormat.OCI)
                        .setCreationTime(ctx.meta().created()).setFileEntriesLayers(modelLayer, codeLayer)
                        .setEntrypoint("/usr/bin/tini", "--", "python3", "/opt/cloister/serving/serve.py")
                        .setUser("65534:65534").addExposedPort(Port.tcp(8080))
                        .setLabels(Map.of(ServingImageBuilder.LABEL_JOB_ID, ctx.meta().origin().id()));
                Map<String, List<Double>> mine = new LinkedHashMap<>();
                List<String> fallbacks = new ArrayList<>();
                ExecutorService executor = Executors.newCachedThreadPool();
                Containerizer containerizer = Containerizer.to(RegistryImage.named(target("jib",
                                RUN + "-profile-" + variant.replace('+', '-').toLowerCase(Locale.ROOT) + "-" + i)
                                .toString()))
                        .setAlwaysCacheBaseImage(cacheBase)
                        .setAllowInsecureRegistries(true).setBaseImageLayersCache(cache.resolve("base"))
                        .setApplicationLayersCache(cache.resolve("application")).setExecutorService(executor)
                        .setToolName("cloister-bench")
                        .addEventHandler(LogEvent.class, e -> {
                            // Jib tries HTTPS first and falls back to HTTP for an insecure registry, per build.
                            if (e.getMessage().contains("Attempting again with")) {
                                synchronized (fallbacks) {
                                    fallbacks.add(e.getMessage());
                                }
                            }
                        })
                        .addEventHandler(TimerEvent.class, e -> {
                            if (e.getState() == TimerEvent.State.FINISHED) {
                                synchronized (mine) {
                                    mine.computeIfAbsent(e.getDescription()
                                            .replaceAll("sha256:[0-9a-f]{64}", "<digest>")
                                            .replaceAll(", size: \\d+", ""), k -> new ArrayList<>())
                                            .add(e.getElapsed().toNanos() / 1e6);
                                }
                            }
                        });
                long t2 = System.nanoTime();
                JibContainer c = image.containerize(containerizer);
                long t3 = System.nanoTime();
                executor.shutdownNow();
                if (i >= 0) {
                    hash.add((t1 - t0) / 1e6);
                    totals.add((t3 - t2) / 1e6);
                    fallbackCounts.add((double) fallbacks.size());
                    mine.forEach((k, v) -> timers.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {
                        v.size(), pct(v, 100), v.stream().mapToDouble(Double::doubleValue).sum()}));
                }
                System.out.printf("profile %s %d: hash %.1f ms, containerize %.1f ms (%s)%n", variant, i,
                        (t1 - t0) / 1e6, (t3 - t2) / 1e6, c.getDigest());
            }
            md.append(String.format(Locale.ROOT, "Jib timer events, %s content, %s, N=%d after 3 warm-ups, load1 %.2f"
                    + " at the end (medians, ms; steps run concurrently, so they overlap and do not add up to the"
                    + " total).%n%n", kase, cacheBase ? "**with Containerizer.setAlwaysCacheBaseImage(true)** (not what"
                    + " ServingImageBuilder does)" : "as ServingImageBuilder does (alwaysCacheBaseImage false)", n,
                    load()));
            md.append("| step | calls per build | longest call (median over builds) | all calls summed (median) |\n"
                    + "|---|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| (ServingImageBuilder input checks: hash model + serving code) | 1"
                    + " | %.1f | %.1f |%n", median(hash), median(hash)));
            md.append(String.format(Locale.ROOT, "| **containerize total (wall)** | 1 | **%.1f** | %.1f |%n",
                    median(totals), median(totals)));
            md.append(String.format(Locale.ROOT, "| (HTTPS attempts that fell back to HTTP, per build: Jib's LogEvents"
                    + " 'Attempting again with HTTP') | %.0f | | |%n", median(fallbackCounts)));
            timers.entrySet().stream().sorted(Comparator.comparing(e -> -median(e.getValue().stream().map(v -> v[1])
                            .toList())))
                    .forEach(e -> md.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f |%n", e.getKey(),
                            median(e.getValue().stream().map(v -> v[0]).toList()),
                            median(e.getValue().stream().map(v -> v[1]).toList()),
                            median(e.getValue().stream().map(v -> v[2]).toList()))));
            md.append("\n");
        }
        keys.close();
        // What one of those HTTPS-then-HTTP fallbacks costs: a TLS attempt that the plain-HTTP registry refuses,
        // against a plain GET /v2/ (both on a new connection, as Jib's Apache transport makes one per request).
        List<Double> tls = new ArrayList<>();
        List<Double> plain = new ArrayList<>();
        for (int i = 0; i < 80; i++) {
            long t0 = System.nanoTime();
            try {
                HttpsURLConnection c = (HttpsURLConnection) new URL("https://" + REGISTRY + "/v2/").openConnection();
                c.getResponseCode();
            } catch (IOException expected) {
                // javax.net.ssl.SSLException: Unsupported or unrecognized SSL message
            }
            long t1 = System.nanoTime();
            HttpURLConnection c = (HttpURLConnection) new URL("http://" + REGISTRY + "/v2/").openConnection();
            c.setRequestProperty("Connection", "close");
            c.getResponseCode();
            c.getInputStream().readAllBytes();
            c.disconnect();
            long t2 = System.nanoTime();
            if (i >= 30) {
                tls.add((t1 - t0) / 1e6);
                plain.add((t2 - t1) / 1e6);
            }
        }
        md.append(String.format(Locale.ROOT, "One refused HTTPS attempt at the registry: median %.1f ms (p90 %.1f);"
                + " one plain-HTTP GET /v2/ on a new connection: median %.1f ms (p90 %.1f); N=%d after 30 warm-ups,"
                + " load1 %.2f.%n", median(tls), pct(tls, 90), median(plain), pct(plain, 90), tls.size(), load()));
        Files.writeString(out.resolve("profile.md"), md);
        System.out.print(md);
    }

    // ---------------------------------------------------------------- verify

    static void verifyMode(Map<String, String> a) throws Exception {
        Path out = Path.of(a.get("out"));
        Path work = Path.of(a.get("work"));
        int n = Integer.parseInt(a.getOrDefault("n", "50"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "10"));
        Files.createDirectories(out);
        ImageReference base = base();
        HostKeys keys = HostKeys.open(work.resolve("keys"), PASS);
        // A model sealed for this run (the example's files, resealed with the throwaway key): its own image digest,
        // so another run signing the same content with its own key cannot replace this run's signature.
        Ctx ctx = prepareNew(work.resolve("verify-ctx"), artifact(a), base, keys, RUN + "-verify");
        ServingImage image = builder(work.resolve("jib-cache")).build(base, ctx.model(), ctx.serving(), ctx.meta(),
                target("verify", RUN));
        ImageSigner.Signatures sigs = new ImageSigner(keys::signer, "urn:cloister:host:bench", RegistryLimits.DEFAULTS)
                .sign(image);
        String pem = keys.signer().publicKeyPem();
        keys.close();
        Files.writeString(out.resolve("verify-key.pem"), pem);
        ImageReference byTag = image.image().withTag(RUN);
        ImageReference byDigest = image.image().pinned(image.digest());
        Files.writeString(out.resolve("verify-ref.txt"), byTag + "\n");
        System.out.printf("signed %s (sig %s, att %s)%n", byDigest, sigs.signature(), sigs.attestation());

        ImageVerifier verifier = new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC());
        for (int i = 0; i < warmup; i++) {
            check(verifier.verify(byTag, pem, Optional.empty()), image);
        }
        Map<String, List<Double>> series = new LinkedHashMap<>();
        series.put("by tag, one ImageVerifier (service)", new ArrayList<>());
        series.put("by digest, one ImageVerifier", new ArrayList<>());
        series.put("by tag, new ImageVerifier per call (CLI-like)", new ArrayList<>());
        List<Double> loads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            loads.add(load());
            series.get("by tag, one ImageVerifier (service)").add(time(() -> check(verifier.verify(byTag, pem,
                    Optional.empty()), image)));
            series.get("by digest, one ImageVerifier").add(time(() -> check(verifier.verify(byDigest, pem,
                    Optional.empty()), image)));
            series.get("by tag, new ImageVerifier per call (CLI-like)").add(time(() -> check(
                    new ImageVerifier(RegistryLimits.DEFAULTS, Clock.systemUTC()).verify(byTag, pem, Optional.empty()),
                    image)));
        }
        try (PrintStream tsv = new PrintStream(Files.newOutputStream(out.resolve("verify.tsv")), true,
                StandardCharsets.UTF_8)) {
            tsv.println("series\titer\tms");
            series.forEach((k, v) -> {
                for (int i = 0; i < v.size(); i++) {
                    tsv.printf(Locale.ROOT, "%s\t%d\t%.2f%n", k, i, v.get(i));
                }
            });
        }
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "ImageVerifier.verify in process, %d warm-ups,"
                + " N=%d per series (series interleaved per iteration); load1 median %.2f; ms.%n%n", warmup, n,
                median(loads)));
        md.append("| series | median | p90 | max | min |\n|---|---|---|---|---|\n");
        series.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", k,
                median(v), pct(v, 90), pct(v, 100), pct(v, 0))));
        Files.writeString(out.resolve("verify.md"), md);
        System.out.print(md);
    }

    interface Timed {
        void run() throws Exception;
    }

    static double time(Timed t) throws Exception {
        long t0 = System.nanoTime();
        t.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static void check(VerifiedImage v, ServingImage image) {
        if (!v.image().digest().orElseThrow().equals(image.digest())) {
            throw new IllegalStateException("verified the wrong image: " + v);
        }
    }

    // ---------------------------------------------------------------- stats

    static double median(List<Double> values) {
        List<Double> s = values.stream().sorted().toList();
        int n = s.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** Nearest-rank percentile (0 = min, 100 = max). */
    static double pct(List<Double> values, int p) {
        List<Double> s = values.stream().sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * s.size());
        return s.get(Math.max(0, Math.min(s.size() - 1, rank - 1)));
    }
}
