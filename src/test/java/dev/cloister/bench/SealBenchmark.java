package dev.cloister.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import dev.cloister.digest.Digest;
import dev.cloister.files.AtomicFiles;
import dev.cloister.keys.HostKeys;
import dev.cloister.seal.ModelManifest;
import dev.cloister.seal.ModelSigner;
import dev.cloister.seal.SealedModel;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.VerifiedModel;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Benchmark of sealing ({@link ModelSigner}) and verifying ({@link ModelVerifier}) a model directory: a main class,
 * not a test (surefire never runs it). Driven by {@code deploy/bench/seal/run.sh}; see
 * {@code deploy/bench/seal/RESULTS.md}. GB/s are 10^9 bytes per second of model content (model.sig excluded).
 *
 * <pre>
 * SealBenchmark MODEL_DIR REPS                 one warm-up seal+verify, then REPS timed seal+verify pairs, with the
 *                                              heap watched throughout (run it with a fixed -Xmx)
 * SealBenchmark --serve MODEL_DIR [KEY_DIR]    warm JVM driven over stdin: lines "seal" / "verify" / "quit", one
 *                                              reply line each: "seal|verify SECONDS BYTES GB/s"; with KEY_DIR it
 *                                              signs with that key (so the CLI can verify its seals)
 * SealBenchmark --init-keys KEY_DIR            create a throwaway host key there; prints the public key file
 * SealBenchmark --seal-once MODEL_DIR KEY_DIR  fresh-JVM seal with an existing key: prints key-open and seal times
 * SealBenchmark --variants MODEL_DIR REPS THREADS[,THREADS..] [VARIANT,..]
 *                                              alternative hashing loops over the same files (no signing)
 * SealBenchmark --breakdown MODEL_DIR REPS     seal, bare ModelManifest.hash and verify interleaved in one JVM
 * SealBenchmark --cold-parse BUNDLE protobuf|jackson[,..]   first parse(s) of a bundle in a fresh JVM
 * </pre>
 */
public final class SealBenchmark {

    private static final char[] PASSPHRASE = "seal-benchmark-throwaway".toCharArray();
    private static final PrintStream OUT = System.out;

    private SealBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        if (args.length == 0) {
            usage();
        }
        switch (args[0]) {
            case "--serve" -> serve(Path.of(need(args, 1)), args.length > 2 ? Path.of(args[2]) : null);
            case "--init-keys" -> initKeys(Path.of(need(args, 1)));
            case "--seal-once" -> sealOnce(Path.of(need(args, 1)), Path.of(need(args, 2)));
            case "--cold-parse" -> coldParse(Path.of(need(args, 1)), need(args, 2));
            case "--breakdown" -> breakdown(Path.of(need(args, 1)), Integer.parseInt(need(args, 2)));
            case "--variants" -> variants(Path.of(need(args, 1)), Integer.parseInt(need(args, 2)),
                    parseInts(need(args, 3)), args.length > 4 ? List.of(args[4].split(",")) : VARIANTS);
            default -> timedRuns(Path.of(args[0]), args.length > 1 ? Integer.parseInt(args[1]) : 5);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Default mode: warm-up, REPS timed seal + verify, heap figures.

    private static void timedRuns(Path model, int reps) throws Exception {
        long bytes = modelBytes(model);
        printEnvironment(model, bytes);
        Path keyDir = Files.createTempDirectory("seal-bench-keys");
        long t0 = System.nanoTime();
        try (HostKeys keys = HostKeys.open(keyDir, PASSPHRASE)) {
            OUT.printf("key: generated throwaway P-256 key %s in %.3f s (%s)%n", keys.activeKeyId(),
                    secondsSince(t0), keyDir);
            ModelSigner signer = new ModelSigner(keys.signer());
            ModelVerifier verifier = new ModelVerifier();
            String pem = keys.signer().publicKeyPem();

            double warmSeal = timeSeal(signer, model);
            double warmVerify = timeVerify(verifier, model, pem);
            OUT.printf("warm-up  seal %.3f s %.3f GB/s   verify %.3f s %.3f GB/s%n", warmSeal, gbps(bytes, warmSeal),
                    warmVerify, gbps(bytes, warmVerify));

            HeapWatch heap = HeapWatch.start();
            List<Double> seals = new ArrayList<>();
            List<Double> verifies = new ArrayList<>();
            for (int i = 1; i <= reps; i++) {
                double busy0 = machineBusySeconds();
                double cpu0 = processCpuSeconds();
                double s = timeSeal(signer, model);
                double v = timeVerify(verifier, model, pem);
                double other = Math.max(0, machineBusySeconds() - busy0 - (processCpuSeconds() - cpu0)) / (s + v);
                seals.add(s);
                verifies.add(v);
                OUT.printf("run %2d   seal %.3f s %.3f GB/s   verify %.3f s %.3f GB/s   verify/seal %.3f   "
                                + "others %.2f cores   load %s%n",
                        i, s, gbps(bytes, s), v, gbps(bytes, v), v / s, other, loadAverage());
            }
            heap.stop();
            double ms = median(seals);
            double mv = median(verifies);
            OUT.printf("median   seal %.3f s %.3f GB/s   verify %.3f s %.3f GB/s   verify/seal %.3f%n", ms,
                    gbps(bytes, ms), mv, gbps(bytes, mv), mv / ms);
            heap.print(OUT);
        } finally {
            deleteTree(keyDir);
        }
    }

    private static double timeSeal(ModelSigner signer, Path model) throws Exception {
        long t0 = System.nanoTime();
        SealedModel sealed = signer.sign(model);
        double s = secondsSince(t0);
        if (sealed.manifest().resources().isEmpty()) {
            throw new IllegalStateException("sealed nothing in " + model);
        }
        return s;
    }

    private static double timeVerify(ModelVerifier verifier, Path model, String pem) throws Exception {
        long t0 = System.nanoTime();
        VerifiedModel verified = verifier.verify(model, pem);
        double s = secondsSince(t0);
        if (verified.fileCount() == 0) {
            throw new IllegalStateException("verified nothing in " + model);
        }
        return s;
    }

    /**
     * Heap watch: a 2 ms sampler of heap used (garbage included: an upper bound of what the work needs) and of the
     * direct buffer pool, plus the heap used after every GC during the window (the live set), against the baseline
     * measured after a full GC just before the window.
     */
    private static final class HeapWatch {
        private final long baseline;
        private final long gcCountBefore;
        private final long gcMillisBefore;
        private final AtomicLong maxUsed = new AtomicLong();
        private final AtomicLong maxDirect = new AtomicLong();
        private final AtomicLong maxAfterGc = new AtomicLong(-1);
        private final AtomicLong gcEvents = new AtomicLong();
        private final List<Runnable> undo = new ArrayList<>();
        private volatile boolean running = true;
        private volatile long samplerBytes;
        private Thread sampler;
        private long maxPoolPeaks;
        private long gcCountDuring;
        private long gcMillisDuring;
        private long samplerAllocated;

        private HeapWatch(long baseline, long gcCount, long gcMillis) {
            this.baseline = baseline;
            this.gcCountBefore = gcCount;
            this.gcMillisBefore = gcMillis;
        }

        static HeapWatch start() {
            System.gc();
            System.gc();
            long baseline = heapUsed();
            HeapWatch watch = new HeapWatch(baseline, gcCount(), gcMillis());
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    pool.resetPeakUsage();
                }
            }
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                if (gc instanceof NotificationEmitter emitter) {
                    javax.management.NotificationListener listener = (n, handback) -> {
                        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                            return;
                        }
                        var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                        long after = 0;
                        for (Map.Entry<String, MemoryUsage> e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                            if (isHeapPool(e.getKey())) {
                                after += e.getValue().getUsed();
                            }
                        }
                        watch.gcEvents.incrementAndGet();
                        watch.maxAfterGc.accumulateAndGet(after, Math::max);
                    };
                    emitter.addNotificationListener(listener, null, null);
                    watch.undo.add(() -> {
                        try {
                            emitter.removeNotificationListener(listener);
                        } catch (Exception ignored) {
                            // best effort
                        }
                    });
                }
            }
            BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                    .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            watch.sampler = new Thread(() -> {
                long self = Thread.currentThread().getId();
                long allocated0 = threads.getThreadAllocatedBytes(self);
                while (watch.running) {
                    watch.maxUsed.accumulateAndGet(heapUsed(), Math::max);
                    watch.maxDirect.accumulateAndGet(direct.getMemoryUsed(), Math::max);
                    // The sampler's own garbage (MemoryUsage objects, JMX) grows with time, not with model size.
                    watch.samplerBytes = threads.getThreadAllocatedBytes(self) - allocated0;
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-sampler");
            watch.sampler.setDaemon(true);
            watch.sampler.start();
            return watch;
        }

        void stop() throws InterruptedException {
            running = false;
            sampler.join();
            samplerAllocated = samplerBytes;
            long sum = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    sum += pool.getPeakUsage().getUsed();
                }
            }
            maxPoolPeaks = sum;
            gcCountDuring = gcCount() - gcCountBefore;
            gcMillisDuring = gcMillis() - gcMillisBefore;
            undo.forEach(Runnable::run);
        }

        void print(PrintStream out) {
            long max = Runtime.getRuntime().maxMemory();
            System.gc();
            long end = heapUsed();
            out.printf("heap: -Xmx %s, baseline used after full GC %s%n", mib(max), mib(baseline));
            out.printf("heap: max used (2 ms samples, garbage included) %s -> growth %s%n", mib(maxUsed.get()),
                    mib(maxUsed.get() - baseline));
            out.printf("heap: sum of pool peaks (upper bound) %s -> growth %s%n", mib(maxPoolPeaks),
                    mib(maxPoolPeaks - baseline));
            out.printf("heap: of that growth, the sampler's own allocation %s -> growth without it %s%n",
                    mib(samplerAllocated), mib(maxUsed.get() - baseline - samplerAllocated));
            long afterGc = maxAfterGc.get();
            out.printf("heap: GCs during runs %d (%d ms); max used after a GC %s -> live growth %s%n",
                    gcCountDuring, gcMillisDuring,
                    afterGc < 0 ? "n/a (no GC)" : mib(afterGc), afterGc < 0 ? "n/a" : mib(afterGc - baseline));
            out.printf("heap: used after final full GC %s; direct buffers max %s; VmHWM (peak RSS) %s%n", mib(end),
                    mib(maxDirect.get()), procStatus("VmHWM"));
            out.printf("HEAP_SUMMARY xmx_mib=%.1f baseline_mib=%.1f max_used_mib=%.1f growth_mib=%.1f "
                            + "pool_peaks_growth_mib=%.1f live_growth_mib=%s gcs=%d direct_max_mib=%.2f "
                            + "sampler_alloc_mib=%.1f retained_mib=%.1f%n",
                    max / 1048576.0, baseline / 1048576.0, maxUsed.get() / 1048576.0,
                    (maxUsed.get() - baseline) / 1048576.0, (maxPoolPeaks - baseline) / 1048576.0,
                    afterGc < 0 ? "na" : String.format("%.1f", (afterGc - baseline) / 1048576.0),
                    gcCountDuring, maxDirect.get() / 1048576.0, samplerAllocated / 1048576.0,
                    (end - baseline) / 1048576.0);
        }

        private static boolean isHeapPool(String name) {
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getName().equals(name)) {
                    return pool.getType() == MemoryType.HEAP;
                }
            }
            return false;
        }

        private static long heapUsed() {
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }

        private static long gcCount() {
            return ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
        }

        private static long gcMillis() {
            return ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Where seal and verify spend their time besides hashing: seal, verify and a bare ModelManifest.hash interleaved
    // in one warm JVM.

    private static void breakdown(Path model, int reps) throws Exception {
        long bytes = modelBytes(model);
        printEnvironment(model, bytes);
        Path keyDir = Files.createTempDirectory("seal-bench-keys");
        try (HostKeys keys = HostKeys.open(keyDir, PASSPHRASE)) {
            ModelSigner signer = new ModelSigner(keys.signer());
            ModelVerifier verifier = new ModelVerifier();
            String pem = keys.signer().publicKeyPem();
            List<Double> seal = new ArrayList<>();
            List<Double> verify = new ArrayList<>();
            List<Double> hash = new ArrayList<>();
            List<Double> write = new ArrayList<>();
            // Sealing ends with AtomicFiles.write of model.sig (fsync of the file and of the directory); the same
            // write of the same size, next to the model (not in it), shows what durability costs on this disk now.
            Path probe = model.toAbsolutePath().getParent().resolve(".seal-bench-fsync-probe");
            int quietRounds = 0;
            for (int i = 0; i <= reps; i++) { // round 0 is the warm-up
                waitQuiet();
                double busy0 = machineBusySeconds();
                double cpu0 = processCpuSeconds();
                long r0 = System.nanoTime();
                // The order rotates round by round: the first operation after the quiet wait may run slower.
                double s = 0;
                double h = 0;
                double v = 0;
                for (int k = 0; k < 3; k++) {
                    switch ((k + i) % 3) {
                        case 0 -> s = timeSeal(signer, model);
                        case 1 -> {
                            long t0 = System.nanoTime();
                            ModelManifest.hash(model, List.of(ModelSigner.SIGNATURE_FILE),
                                    ModelManifest.DEFAULT_HASH_THREADS);
                            h = secondsSince(t0);
                        }
                        default -> v = timeVerify(verifier, model, pem);
                    }
                }
                byte[] sig = Files.readAllBytes(model.resolve(ModelSigner.SIGNATURE_FILE));
                long w0 = System.nanoTime();
                AtomicFiles.write(probe, sig);
                double w = secondsSince(w0);
                Files.delete(probe);
                double other = Math.max(0, machineBusySeconds() - busy0 - (processCpuSeconds() - cpu0))
                        / secondsSince(r0);
                // Only rounds during which other processes used < 0.3 cores count: the machine is shared.
                boolean quiet = other < 0.3;
                if (i > 0 && quiet) {
                    seal.add(s);
                    hash.add(h);
                    verify.add(v);
                    write.add(w);
                    quietRounds++;
                }
                OUT.printf("round %d (first: %s)  seal %.3f s  hash-only %.3f s  verify %.3f s  model.sig-sized "
                                + "atomic write %.3f s  others %.2f cores%s  load %s%n",
                        i, List.of("seal", "hash", "verify").get(i % 3), s, h, v, w, other, i == 0 ? " (warm-up)" : quiet ? "" : " (contended: not counted)",
                        loadAverage());
            }
            if (quietRounds == 0) {
                OUT.println("BREAKDOWN no quiet round");
                return;
            }
            double ms = median(seal);
            double mh = median(hash);
            double mv = median(verify);
            OUT.printf("BREAKDOWN %d quiet rounds: median seal %.3f s, hash-only %.3f s, verify %.3f s; "
                            + "seal - hash %+.3f s, verify - hash %+.3f s, verify/seal %.3f; atomic write (fsync) "
                            + "median %.3f s, max %.3f s; minima %.3f / %.3f / %.3f%n",
                    quietRounds, ms, mh, mv, ms - mh, mv - mh, mv / ms, median(write),
                    write.stream().max(Double::compare).orElseThrow(),
                    seal.stream().min(Double::compare).orElseThrow(), hash.stream().min(Double::compare).orElseThrow(),
                    verify.stream().min(Double::compare).orElseThrow());
        } finally {
            deleteTree(keyDir);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The verify CLI's class-loading cost for the bundle: the first parse of model.sig in a fresh JVM, the way
    // SignedBundle does it (protobuf JsonFormat into the sigstore Bundle) or with Jackson (which verify loads anyway).

    private static void coldParse(Path bundleFile, String hows) throws Exception {
        for (String how : hows.split(",")) {
            coldParseOnce(bundleFile, how);
        }
    }

    private static void coldParseOnce(Path bundleFile, String how) throws Exception {
        String text = Files.readString(bundleFile);
        long t0 = System.nanoTime();
        int size = switch (how) {
            case "protobuf" -> {
                var builder = dev.sigstore.proto.bundle.v1.Bundle.newBuilder();
                com.google.protobuf.util.JsonFormat.parser().merge(text, builder);
                yield builder.build().getDsseEnvelope().getPayload().size();
            }
            case "jackson" -> new com.fasterxml.jackson.databind.ObjectMapper().readTree(text)
                    .path("dsseEnvelope").path("payload").asText().length();
            default -> throw new IllegalArgumentException("protobuf or jackson");
        };
        OUT.printf("COLD_PARSE %s %.4f s (payload %d)  jvm uptime before parse %.3f s%n", how, secondsSince(t0), size,
                ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0 - secondsSince(t0));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Warm JVM driven over stdin (interleaving with openssl from run.sh).

    private static void serve(Path model, Path givenKeyDir) throws Exception {
        long bytes = modelBytes(model);
        Path keyDir = givenKeyDir != null ? givenKeyDir : Files.createTempDirectory("seal-bench-keys");
        try (HostKeys keys = HostKeys.open(keyDir, PASSPHRASE)) {
            ModelSigner signer = new ModelSigner(keys.signer());
            ModelVerifier verifier = new ModelVerifier();
            String pem = keys.signer().publicKeyPem();
            OUT.println("ready " + bytes);
            OUT.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                switch (line.trim()) {
                    case "seal" -> {
                        double s = timeSeal(signer, model);
                        OUT.printf("seal %.6f %d %.4f%n", s, bytes, gbps(bytes, s));
                    }
                    case "verify" -> {
                        double s = timeVerify(verifier, model, pem);
                        OUT.printf("verify %.6f %d %.4f%n", s, bytes, gbps(bytes, s));
                    }
                    case "quit" -> {
                        return;
                    }
                    default -> OUT.println("error unknown command: " + line);
                }
                OUT.flush();
            }
        } finally {
            if (givenKeyDir == null) {
                deleteTree(keyDir);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Fresh-JVM helpers.

    private static void initKeys(Path keyDir) throws Exception {
        try (HostKeys keys = HostKeys.open(keyDir, PASSPHRASE)) {
            Path pub = keyDir.resolve(keys.activeKeyId().hex() + ".pub.pem");
            if (!Files.isRegularFile(pub)) {
                throw new IllegalStateException("expected the public key at " + pub);
            }
            OUT.println(pub);
        }
    }

    private static void sealOnce(Path model, Path keyDir) throws Exception {
        long bytes = modelBytes(model);
        long t0 = System.nanoTime();
        try (HostKeys keys = HostKeys.open(keyDir, PASSPHRASE)) {
            double open = secondsSince(t0);
            double seal = timeSeal(new ModelSigner(keys.signer()), model);
            double jvmUp = ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0;
            OUT.printf("seal-once key_open_s=%.3f seal_s=%.3f seal_gbps=%.4f jvm_uptime_s=%.3f%n", open, seal,
                    gbps(bytes, seal), jvmUp);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Hashing-loop variants: same files, same one-file-per-task pool as FileHashes, no signing.

    private static final List<String> VARIANTS = List.of("cloister", "channel-64k", "channel-1m", "direct-64k",
            "fis-1m", "mmap-64m", "bc-channel-64k", "mem-only");

    private interface FileHash {
        byte[] hash(Path file) throws Exception;
    }

    private static void variants(Path model, int reps, int[] threadCounts, List<String> names) throws Exception {
        long bytes = modelBytes(model);
        List<Path> files = modelFiles(model);
        printEnvironment(model, bytes);
        Provider bc = new BouncyCastleProvider();
        OUT.println("SUN SHA-256 provider: " + MessageDigest.getInstance("SHA-256").getProvider()
                + "; Digest.sha256(): " + Digest.sha256().getProvider());
        for (int threads : threadCounts) {
            for (String name : names) {
                List<Double> times = new ArrayList<>();
                List<Double> cpus = new ArrayList<>();
                List<Double> others = new ArrayList<>();
                double first = Double.NaN;
                for (int i = 0; i <= reps; i++) { // run 0 is the warm-up
                    waitQuiet();
                    double busy0 = machineBusySeconds();
                    double cpu0 = processCpuSeconds();
                    long t0 = System.nanoTime();
                    if (name.equals("cloister")) {
                        ModelManifest.hash(model, List.of(ModelSigner.SIGNATURE_FILE), threads);
                    } else if (name.equals("mem-only")) {
                        memOnly(files.size(), bytes / files.size(), threads);
                    } else {
                        FileHash hash = variant(name, bc);
                        hashAll(files, threads, hash);
                    }
                    double s = secondsSince(t0);
                    double cpu = processCpuSeconds() - cpu0;
                    double other = Math.max(0, machineBusySeconds() - busy0 - cpu) / s;
                    if (i > 0) {
                        times.add(s);
                        cpus.add(cpu);
                        others.add(other);
                    } else {
                        first = s;
                    }
                }
                double m = median(times);
                double c = median(cpus);
                OUT.printf("VARIANT %-15s threads=%d median %.3f s %.3f GB/s  (min %.3f s, max %.3f s, n=%d)  "
                                + "cpu %.3f s/GB  others %.2f cores  warm-up run %.3f s  load %s%n",
                        name, threads, m, gbps(bytes, m), times.stream().min(Double::compare).orElseThrow(),
                        times.stream().max(Double::compare).orElseThrow(), times.size(), c / (bytes / 1e9),
                        median(others), first, loadAverage());
            }
        }
    }

    private static FileHash variant(String name, Provider bc) {
        Supplier<MessageDigest> sun = Digest::sha256;
        Supplier<MessageDigest> bouncy = () -> {
            try {
                return MessageDigest.getInstance("SHA-256", bc);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        };
        return switch (name) {
            case "channel-64k" -> f -> channel(f, sun.get(), ByteBuffer.allocate(64 * 1024));
            case "channel-1m" -> f -> channel(f, sun.get(), ByteBuffer.allocate(1024 * 1024));
            case "direct-64k" -> f -> channel(f, sun.get(), ByteBuffer.allocateDirect(64 * 1024));
            case "bc-channel-64k" -> f -> channel(f, bouncy.get(), ByteBuffer.allocate(64 * 1024));
            case "fis-1m" -> f -> {
                MessageDigest md = sun.get();
                byte[] buf = new byte[1024 * 1024];
                try (FileInputStream in = new FileInputStream(f.toFile())) {
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        md.update(buf, 0, n);
                    }
                }
                return md.digest();
            };
            case "mmap-64m" -> f -> {
                MessageDigest md = sun.get();
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                    long size = ch.size();
                    for (long pos = 0; pos < size; pos += 64L << 20) {
                        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, pos, Math.min(64L << 20, size - pos));
                        md.update(map);
                    }
                }
                return md.digest();
            };
            default -> throw new IllegalArgumentException("unknown variant " + name + "; known: " + VARIANTS);
        };
    }

    /** The FileHashes loop, parameterised by digest and buffer. */
    private static byte[] channel(Path file, MessageDigest md, ByteBuffer buffer) throws IOException {
        try (SeekableByteChannel channel = Files.newByteChannel(file, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                md.update(buffer);
                buffer.clear();
            }
        }
        return md.digest();
    }

    private static void hashAll(List<Path> files, int threads, FileHash hash) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<byte[]>> futures = new ArrayList<>();
            for (Path f : files) {
                futures.add(pool.submit(() -> hash.hash(f)));
            }
            for (Future<byte[]> f : futures) {
                if (f.get().length != 32) {
                    throw new IllegalStateException("not a SHA-256");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** The JVM's SHA-256 compute ceiling: the same byte count hashed from one in-memory 1 MiB array per task. */
    private static void memOnly(int tasks, long bytesPerTask, int threads) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<byte[]>> futures = new ArrayList<>();
            for (int t = 0; t < tasks; t++) {
                futures.add(pool.submit(() -> {
                    MessageDigest md = Digest.sha256();
                    byte[] buf = new byte[1024 * 1024];
                    for (long done = 0; done < bytesPerTask; done += buf.length) {
                        md.update(buf, 0, (int) Math.min(buf.length, bytesPerTask - done));
                    }
                    return md.digest();
                }));
            }
            for (Future<byte[]> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Helpers.

    private static List<Path> modelFiles(Path model) throws IOException {
        try (Stream<Path> s = Files.list(model)) {
            return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> !p.getFileName().toString().equals(ModelSigner.SIGNATURE_FILE))
                    .sorted(Comparator.comparing(Path::toString)).toList();
        }
    }

    private static long modelBytes(Path model) throws IOException {
        long sum = 0;
        for (Path f : modelFiles(model)) {
            sum += Files.size(f);
        }
        if (sum == 0) {
            throw new IllegalArgumentException("no content in " + model);
        }
        return sum;
    }

    private static void printEnvironment(Path model, long bytes) throws IOException {
        OUT.printf("model: %s, %d files, %d bytes (%.3f GiB)%n", model, modelFiles(model).size(), bytes,
                bytes / (double) (1L << 30));
        OUT.printf("jvm: %s %s, %d processors, -Xmx %s, args %s%n", System.getProperty("java.vm.name"),
                System.getProperty("java.runtime.version"), Runtime.getRuntime().availableProcessors(),
                mib(Runtime.getRuntime().maxMemory()), ManagementFactory.getRuntimeMXBean().getInputArguments());
        OUT.printf("sha-256: provider %s, hash threads %d, load %s%n", Digest.sha256().getProvider(),
                ModelManifest.DEFAULT_HASH_THREADS, loadAverage());
    }

    /**
     * Waits (at most {@code QUIET_WAIT_S} seconds, system property {@code bench.quietWait}, default 120) until other
     * processes used fewer than 0.3 cores over a 1 s sample; returns the cores they used in the last sample.
     */
    private static double waitQuiet() throws InterruptedException {
        long deadline = System.nanoTime() + Long.getLong("bench.quietWait", 120) * 1_000_000_000L;
        while (true) {
            double busy0 = machineBusySeconds();
            double cpu0 = processCpuSeconds();
            Thread.sleep(1000);
            double other = Math.max(0, machineBusySeconds() - busy0 - (processCpuSeconds() - cpu0));
            if (other < 0.3 || System.nanoTime() > deadline) {
                return other;
            }
            Thread.sleep(2000);
        }
    }

    /** CPU seconds this JVM has used (all threads, user + system). */
    private static double processCpuSeconds() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getProcessCpuTime() / 1e9;
    }

    /** Busy CPU seconds of the whole machine (user nice system irq softirq from /proc/stat, USER_HZ 100). */
    private static double machineBusySeconds() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long ticks = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[6])
                    + Long.parseLong(f[7]);
            return ticks / 100.0;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static String procStatus(String key) {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith(key + ":"))
                    .map(l -> l.substring(key.length() + 1).trim()).findFirst().orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static double secondsSince(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double gbps(long bytes, double seconds) {
        return bytes / 1e9 / seconds;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    private static int[] parseInts(String csv) {
        return Stream.of(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static String need(String[] args, int i) {
        if (args.length <= i) {
            usage();
        }
        return args[i];
    }

    private static void usage() {
        System.err.println("""
                usage: SealBenchmark MODEL_DIR REPS
                       SealBenchmark --serve MODEL_DIR [KEY_DIR]
                       SealBenchmark --init-keys KEY_DIR
                       SealBenchmark --seal-once MODEL_DIR KEY_DIR
                       SealBenchmark --variants MODEL_DIR REPS THREADS[,THREADS..] [VARIANT,..]
                       SealBenchmark --breakdown MODEL_DIR REPS
                       SealBenchmark --cold-parse BUNDLE protobuf|jackson[,protobuf|jackson..]""");
        System.exit(2);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
