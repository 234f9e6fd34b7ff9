package dev.cloister.federation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.Dataset;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.digest.Digest;
import dev.cloister.files.AtomicFiles;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;
import dev.cloister.job.JobSpecReader;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.job.ModelOrigin;
import dev.cloister.job.ModelPublisher;
import dev.cloister.keys.Signer;
import dev.cloister.policy.Admission;
import dev.cloister.policy.AdmissionException;
import dev.cloister.policy.DurationText;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;
import dev.cloister.sandbox.ResolvedImage;
import dev.cloister.sandbox.SandboxException;
import dev.cloister.sandbox.SandboxRuntime;
import dev.cloister.seal.Bundles;
import dev.cloister.seal.FederationFacts;
import dev.cloister.seal.FederationProvenance;
import dev.cloister.seal.JobSealer;
import dev.cloister.seal.RoundFacts;
import dev.cloister.seal.RoundStatement;
import dev.cloister.seal.SealException;
import dev.cloister.verify.VerificationException;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Admits federations and runs their rounds. The host is the only party that moves weights: each round it writes the
 * global weights into every site's {@code /in}, runs the sites in parallel (each admitted under its own policy, in
 * its own network-less sandbox), judges each update, aggregates a quorum, writes the next global weights, and signs
 * a round record naming all of it and the previous record. After the last round the final weights are sealed like a
 * job's model, with a provenance that lists every round record, and the whole chain is verified before the
 * federation counts as SEALED. The sealed model is then packaged exactly like a job's: a serving image pushed by
 * digest (PACKAGED), signed with its image provenance in the cosign layout (PUBLISHED).
 */
public final class FederationService implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(FederationService.class);
    /** Env the host sets in each site's container (the site's own env cannot override it). */
    static final String ENV_MODE = "FEDERATION_MODE";
    static final String ENV_ROUND = "FEDERATION_ROUND";
    static final String ENV_ROUNDS = "FEDERATION_ROUNDS";
    static final String MODEL_FILE = "global.npz";
    /** The sealed model's directory in the federation's: the final {@value #MODEL_FILE} and its seal files. */
    static final String MODEL_DIR = "model";
    /** Key of the evaluation run in the maps of admitted policies and datasets (never a site name: no parentheses). */
    private static final String EVALUATION = "(evaluation)";

    /** What the service needs from its host, fixed at start-up. */
    public record Settings(Path root, String builderId, int concurrency, int siteConcurrency) {
    }

    /** Verifies a finished federation's directory (every round record, the chain, the final seal). */
    @FunctionalInterface
    public interface ChainCheck {
        void verify(Path federationDir, String keyId) throws VerificationException;
    }

    private final Policies policies;
    private final DatasetRegistry datasets;
    private final Admission admission;
    private final SandboxRuntime runtime;
    private final JobSpecReader jobReader;
    private final FederationSpecReader specReader;
    private final JobSealer sealer;
    private final ChainCheck chainCheck;
    private final ModelPublisher publisher;
    private final Supplier<Signer> signers;
    private final AuditLog audit;
    private final Settings settings;
    private final Clock clock;
    private final SiteLogAccess logAccess;
    private final FederationStore store;
    private final SecureRandom random = new SecureRandom();
    private final SiteRun siteRun;
    private final Map<String, Active> active = new ConcurrentHashMap<>();
    private final ExecutorService federations;
    private final ExecutorService sites;
    private volatile boolean accepting = true;

    public FederationService(Policies policies, DatasetRegistry datasets, Admission admission, SandboxRuntime runtime,
                             JobSpecReader jobReader, JobSealer sealer, ChainCheck chainCheck,
                             ModelPublisher publisher, Supplier<Signer> signers, AuditLog audit,
                             SiteLogAccess logAccess, Settings settings, Clock clock) {
        this.policies = policies;
        this.datasets = datasets;
        this.admission = admission;
        this.runtime = runtime;
        this.jobReader = jobReader;
        this.specReader = new FederationSpecReader(jobReader);
        this.sealer = sealer;
        this.chainCheck = chainCheck;
        this.publisher = publisher;
        this.signers = signers;
        this.audit = audit;
        this.logAccess = logAccess;
        this.settings = settings;
        this.clock = clock;
        this.store = new FederationStore(settings.root());
        this.siteRun = new SiteRun(admission, runtime, random);
        this.federations = pool("cloister-federation-", settings.concurrency());
        this.sites = pool("cloister-site-", settings.siteConcurrency());
    }

    private static ExecutorService pool(String prefix, int threads) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A running federation's live parts: what admission resolved, and how to reach its containers. */
    private static final class Active {
        final FederationSpec spec;
        final Map<String, Policy> policies;
        final Map<String, Dataset> datasets;
        final Set<String> runIds = ConcurrentHashMap.newKeySet();
        volatile boolean cancelled;

        Active(FederationSpec spec, Map<String, Policy> policies, Map<String, Dataset> datasets) {
            this.spec = spec;
            this.policies = policies;
            this.datasets = datasets;
        }
    }

    /**
     * Reads, checks and admits a federation spec, then starts its rounds. Throws {@link MalformedSpecException} for
     * an unreadable body and {@link AdmissionException} with every violation (structure, each site's admission under
     * its policy, the image); both are audited and leave nothing behind.
     */
    public Federation submit(byte[] body, JobSpecReader.Format format, String actor)
            throws MalformedSpecException, AdmissionException, SandboxException {
        if (!accepting) {
            throw new SandboxException(SandboxException.Kind.ENGINE, "the service is shutting down");
        }
        JsonNode root;
        try {
            root = jobReader.readTree(body, format);
        } catch (MalformedSpecException e) {
            audit.record(actor, "federation.submit", "-", "refused", Map.of("reason", e.auditReason()));
            throw e;
        }
        FederationSpecReader.Parsed parsed = specReader.read(root);
        List<Violation> violations = new ArrayList<>(parsed.violations());
        FederationSpec spec = parsed.spec();
        Map<String, Policy> sitePolicies = new LinkedHashMap<>();
        Map<String, Dataset> siteDatasets = new LinkedHashMap<>();
        ResolvedImage image = null;
        if (spec != null) {
            admitSites(spec, sitePolicies, siteDatasets, violations);
            if (violations.isEmpty()) {
                image = runtime.admitImage(ImageRef.parse(spec.image()), violations);
            }
        }
        if (!violations.isEmpty()) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("name", spec == null ? String.valueOf(root.path("name").asText("-")) : spec.name());
            details.put("violations", violations.stream().map(Violation::toString).toList());
            audit.record(actor, "federation.admit", "-", "refused", details);
            throw new AdmissionException(violations);
        }
        FederationId id = FederationId.random(random);
        List<Federation.Site> siteViews = new ArrayList<>();
        for (FederationSpec.Site s : spec.sites()) {
            Policy p = sitePolicies.get(s.name());
            Dataset d = siteDatasets.get(s.name());
            siteViews.add(new Federation.Site(s.name(), s.team(), d.name(), d.digest().toString(), p.name(),
                    p.digest().toString(), p.seccomp().name(), p.seccomp().digest().toString(),
                    p.runtime().engineName()));
        }
        Federation f = new Federation(id.value(), spec.name(), Federation.State.QUEUED, "admitted", clock.instant(),
                null, null, spec.image(), image.imageId().toString(), image.pinnedBy().name(),
                spec.aggregation().describe(), spec.clipNorm(), spec.quorum(), spec.rounds(),
                DurationText.format(spec.roundDeadline()), siteViews, List.of(), null, null, null, null,
                spec.document().toString(), null, null);
        store.add(f);
        active.put(id.value(), new Active(spec, sitePolicies, siteDatasets));
        audit.record(actor, "federation.admit", id.value(), "admitted", Map.of("name", spec.name(),
                "sites", siteViews.stream().map(s -> s.name() + " (" + s.team() + ", " + s.dataset() + ", "
                        + s.policy() + ")").toList(),
                "rounds", spec.rounds(), "quorum", spec.quorum(), "aggregation", spec.aggregation().describe(),
                "image", spec.image()));
        federations.submit(() -> execute(id.value()));
        return f;
    }

    private void admitSite(String at, String site, JobSpec job, Map<String, Policy> outPolicies,
                           Map<String, Dataset> outDatasets, List<Violation> violations) {
        Optional<Policy> policy = policies.find(job.policy());
        // A site mounts only a dataset its own team owns (another team's reads exactly like an unknown one).
        Optional<Dataset> dataset = datasets.find(job.dataset(), job.team());
        if (policy.isEmpty()) {
            violations.add(new Violation(at + ".policy", "unknown policy '" + job.policy() + "'"));
        }
        if (dataset.isEmpty()) {
            violations.add(new Violation(at + ".dataset", "no registered dataset '" + job.dataset() + "' of team '"
                    + job.team() + "'"));
        }
        if (policy.isEmpty() || dataset.isEmpty()) {
            return;
        }
        try {
            // The same judgement each round makes again; the id only names the plan that is thrown away here.
            admission.admitSite(JobId.random(random), job, policy.get(), dataset.get());
            outPolicies.put(site, policy.get());
            outDatasets.put(site, dataset.get());
        } catch (AdmissionException e) {
            e.violations().forEach(v -> violations.add(new Violation(at + "." + v.field(), v.reason())));
        }
    }

    private void execute(String id) {
        Active a = active.get(id);
        try {
            run(id, a);
        } catch (ResumeException e) {
            LOG.warnf("federation %s cannot be resumed: %s", id, e.getMessage());
            transition(id, Federation.State.FAILED, "the service stopped while the federation ran and it cannot be"
                    + " resumed: " + e.getMessage());
        } catch (RuntimeException | IOException e) {
            LOG.errorf(e, "federation %s failed unexpectedly", id);
            transition(id, Federation.State.FAILED, "internal error while running the federation (see the server log)");
        } finally {
            active.remove(id);
        }
    }

    private void run(String id, Active a) throws IOException {
        FederationSpec spec = a.spec;
        Path dir = store.dir(id);
        Files.createDirectories(dir.resolve("globals"));
        Files.createDirectories(dir.resolve("rounds"));
        Weights initial = Weights.zeros(spec.model());
        byte[] initialBytes = Npz.write(initial);
        Digest initialDigest = Digest.of(initialBytes);
        Progress p = progress(id, spec, initial, initialDigest);
        if (!p.resumed()) {
            transition(id, Federation.State.RUNNING, "round 1 of " + spec.rounds());
        }
        if (p.done() == 0) {
            // Zeros of the spec's shapes: the same bytes whenever they are written.
            AtomicFiles.write(dir.resolve("globals").resolve(RoundStatement.globalName(0)), initialBytes);
            store.update(id, f -> f.withInitial(initialDigest.toString()));
        }
        Weights global = p.global();
        byte[] globalBytes = p.globalBytes();
        Digest previous = p.previous();
        List<FederationFacts.RecordRef> records = new ArrayList<>(p.records());
        Instant started = store.find(id).orElseThrow().startedAt();
        for (int n = p.done() + 1; n <= spec.rounds(); n++) {
            if (n > 1 || p.resumed()) {
                transition(id, Federation.State.RUNNING, (p.resumed() && n == p.done() + 1
                        ? "resumed after a restart: " : "") + "round " + n + " of " + spec.rounds());
            }
            RoundOutcome r = round(id, a, n, global, globalBytes, previous);
            previous = r.recordDigest;
            records.add(new FederationFacts.RecordRef(RoundStatement.fileName(n), r.recordDigest));
            if (r.next == null) {
                transition(id, a.cancelled ? Federation.State.CANCELLED : Federation.State.FAILED,
                        "round " + n + " failed: " + r.reason);
                return;
            }
            global = r.next;
            globalBytes = r.nextBytes;
        }
        Federation sealed = store.find(id).orElseThrow();
        if (sealed.modelDigest() != null) {
            // Sealed before a restart (the evaluation was running): the seal stands once it verifies again.
            try {
                chainCheck.verify(dir, sealed.keyId());
            } catch (VerificationException e) {
                throw new ResumeException("the sealed model no longer verifies: " + String.join("; ", e.reasons()));
            }
        } else if (!seal(id, a, globalBytes, initialDigest, records, started)) {
            return;
        }
        if (spec.evaluation() != null && !a.cancelled) {
            transition(id, Federation.State.EVALUATING, "held-out evaluation");
            Map<String, Object> report = evaluate(id, a, initial, globalBytes);
            store.update(id, f -> f.withEvaluation(report));
        }
        Federation done = store.find(id).orElseThrow();
        transition(id, Federation.State.SEALED, "sealed: " + spec.rounds() + " round(s), model " + done.modelDigest()
                + ", key " + done.keyId().substring(0, 12));
        if (!a.cancelled) {
            publish(id);
        }
    }

    /**
     * SEALED -> PACKAGED (serving image pushed by digest) -> PUBLISHED (signature and attestation pushed): the same
     * publisher as a job's model, given the federation's facts. A failure leaves the sealed model verifiable.
     */
    private void publish(String id) {
        Federation f = store.find(id).orElseThrow();
        try {
            ModelPublisher.Packaged packaged = publisher.packageModel(new ModelPublisher.SealedModel(
                    new ModelOrigin(f.id()), f.name(), Digest.parse(f.modelDigest()), trainingPolicy(f),
                    // Sealed before sealedAt was recorded: it ended (SEALED was final) when it was sealed.
                    f.sealedAt() != null ? f.sealedAt() : f.finishedAt(), store.dir(id).resolve(MODEL_DIR)));
            store.update(id, x -> x.withServingImage(packaged.reference()));
            audit.record("cloister", "federation.package", id, "pushed", Map.of("image", packaged.reference(),
                    "modelDigest", f.modelDigest()));
            transition(id, Federation.State.PACKAGED, "serving image pushed: " + packaged.reference());
            ModelPublisher.Published published = publisher.sign(packaged);
            audit.record("cloister", "federation.publish", id, "signed", Map.of("image", packaged.reference(),
                    "keyId", published.keyId()));
            transition(id, Federation.State.PUBLISHED, "signed: " + published.signatureTag() + ", "
                    + published.attestationTag());
        } catch (ModelPublisher.PublishException | RuntimeException e) {
            LOG.warnf("publishing federation %s failed: %s", id, e.getMessage());
            audit.record("cloister", "federation.publish", id, "failed", Map.of("reason",
                    String.valueOf(e.getMessage())));
            transition(id, Federation.State.FAILED, "publishing failed (the sealed model stays verifiable): "
                    + e.getMessage());
        }
    }

    private void resume(Federation f) {
        String id = f.id();
        List<String> problems = new ArrayList<>();
        Active a = null;
        try {
            a = readmit(f, problems);
        } catch (MalformedSpecException | SandboxException | RuntimeException e) {
            problems.add(String.valueOf(e.getMessage()));
        }
        if (!problems.isEmpty() || a == null) {
            int round = f.rounds().isEmpty() ? 0 : f.rounds().get(f.rounds().size() - 1).number();
            audit.record("cloister", "recovery.federation", id, "failed", Map.of("problems", problems));
            transition(id, Federation.State.FAILED, "the service stopped while the federation ran (round " + round
                    + ") and it cannot be resumed: " + String.join("; ", problems));
            return;
        }
        active.put(id, a);
        federations.submit(() -> execute(id));
    }

    /** Every site, then the evaluation, each under its team's policy and dataset (at submission and on resume). */
    private void admitSites(FederationSpec spec, Map<String, Policy> sitePolicies, Map<String, Dataset> siteDatasets,
                            List<Violation> violations) {
        for (int i = 0; i < spec.sites().size(); i++) {
            FederationSpec.Site s = spec.sites().get(i);
            admitSite("sites[" + i + "]", s.name(), s.job(), sitePolicies, siteDatasets, violations);
        }
        if (spec.evaluation() != null) {
            admitSite("evaluation", EVALUATION, spec.evaluation().job(), sitePolicies, siteDatasets, violations);
        }
    }

    /** Admits a stored federation again, as at submission; every difference from what was recorded is a problem. */
    private Active readmit(Federation f, List<String> problems)
            throws MalformedSpecException, SandboxException {
        FederationSpecReader.Parsed parsed = specReader.read(jobReader.readTree(
                f.spec().getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.JSON));
        parsed.violations().forEach(v -> problems.add("spec: " + v));
        FederationSpec spec = parsed.spec();
        if (spec == null) {
            return null;
        }
        List<Violation> violations = new ArrayList<>();
        Map<String, Policy> sitePolicies = new LinkedHashMap<>();
        Map<String, Dataset> siteDatasets = new LinkedHashMap<>();
        admitSites(spec, sitePolicies, siteDatasets, violations);
        violations.forEach(v -> problems.add(v.toString()));
        for (Federation.Site s : f.sites()) {
            Policy p = sitePolicies.get(s.name());
            Dataset d = siteDatasets.get(s.name());
            if (p != null && !p.digest().toString().equals(s.policyDigest())) {
                problems.add("site " + s.name() + ": policy '" + s.policy() + "' changed since admission ("
                        + p.digest() + ", was " + s.policyDigest() + ")");
            }
            if (d != null && !d.digest().toString().equals(s.datasetDigest())) {
                problems.add("site " + s.name() + ": dataset '" + s.dataset() + "' changed since admission ("
                        + d.digest() + ", was " + s.datasetDigest() + ")");
            }
        }
        ResolvedImage image = runtime.resolve(ImageRef.parse(spec.image()));
        if (!image.imageId().toString().equals(f.imageDigest())) {
            problems.add("the trainer image " + spec.image() + " is now " + image.imageId() + ", was "
                    + f.imageDigest());
        }
        return problems.isEmpty() ? new Active(spec, sitePolicies, siteDatasets) : null;
    }

    // The sealed directory is checked again before it is packaged: it sat on disk while no process watched it.
    private void republish(String id) {
        Federation f = store.find(id).orElseThrow();
        String problem = null;
        try {
            chainCheck.verify(store.dir(id), f.keyId());
        } catch (VerificationException e) {
            problem = String.join("; ", e.reasons());
        } catch (RuntimeException e) {
            problem = String.valueOf(e.getMessage());
        }
        if (problem != null) {
            audit.record("cloister", "federation.publish", id, "failed", Map.of("reason", problem));
            transition(id, Federation.State.FAILED, "the sealed federation no longer verifies: " + problem);
            return;
        }
        publish(id);
    }

    /**
     * The one policy every site trained under: a serving image's attestation names one training policy, as the
     * federation's provenance does when its sites agree (release policies judge it like a job's).
     */
    private static String trainingPolicy(Federation f) throws ModelPublisher.PublishException {
        List<String> policies = f.sites().stream().map(Federation.Site::policy).distinct().toList();
        if (policies.size() != 1) {
            throw new ModelPublisher.PublishException("the sites trained under different policies " + policies
                    + ": a serving image names one training policy, so this model is not packaged", null);
        }
        return policies.get(0);
    }

    /**
     * Where a federation stands: the rounds already aggregated (1..done, each with its signed record), the global
     * weights they produced, and whether this is a resumption after a restart.
     */
    private record Progress(int done, Weights global, byte[] globalBytes, Digest previous,
                            List<FederationFacts.RecordRef> records, boolean resumed) {
    }

    /**
     * The rounds a federation has already aggregated, read back from its state and checked against its files: each
     * round's record and output must be on disk with the digests the state recorded. A round that was running when
     * the service stopped is dropped (its record, if written, is replaced when the round runs again) and its run
     * directories are kept aside as {@code round-NNNN.interrupted-K}.
     */
    private Progress progress(String id, FederationSpec spec, Weights initial, Digest initialDigest)
            throws IOException {
        Federation f = store.find(id).orElseThrow();
        boolean resumed = f.state() != Federation.State.QUEUED;
        if (!resumed) {
            return new Progress(0, initial, Npz.write(initial), null, List.of(), false);
        }
        if (f.initialDigest() != null && !f.initialDigest().equals(initialDigest.toString())) {
            throw new ResumeException("the initial weights of the spec's model (" + initialDigest + ") are not the"
                    + " recorded " + f.initialDigest());
        }
        Path dir = store.dir(id);
        int done = 0;
        Digest previous = null;
        List<FederationFacts.RecordRef> records = new ArrayList<>();
        for (Federation.Round r : f.rounds()) {
            if (r.number() != done + 1 || r.state() != Federation.RoundState.AGGREGATED) {
                break;
            }
            Path record = dir.resolve("rounds").resolve(RoundStatement.fileName(r.number()));
            Digest recordDigest = Digest.of(Files.readAllBytes(record));
            if (!recordDigest.toString().equals(r.recordDigest())) {
                throw new ResumeException(record.getFileName() + " is not the record the federation signed");
            }
            done = r.number();
            previous = recordDigest;
            records.add(new FederationFacts.RecordRef(RoundStatement.fileName(done), recordDigest));
        }
        Weights global = initial;
        byte[] globalBytes = Npz.write(initial);
        if (done > 0) {
            Path file = dir.resolve("globals").resolve(RoundStatement.globalName(done));
            globalBytes = Files.readAllBytes(file);
            if (!Digest.of(globalBytes).toString().equals(f.rounds().get(done - 1).outputDigest())) {
                throw new ResumeException(file.getFileName() + " is not round " + done + "'s output");
            }
            try {
                global = Npz.read(file, limits(spec, initial));
            } catch (InvalidUpdateException e) {
                throw new ResumeException(file.getFileName() + " cannot be read: " + e.getMessage());
            }
        }
        int kept = done;
        if (f.rounds().size() > kept) {
            for (Federation.Round r : f.rounds().subList(kept, f.rounds().size())) {
                setAside(dir.resolve("runs").resolve(roundDir(r.number())));
            }
            store.update(id, x -> x.withRoundsUpTo(kept));
        }
        if (f.state() == Federation.State.EVALUATING) {
            setAside(dir.resolve("evaluation"));
        }
        audit.record("cloister", "recovery.federation", id, "resumed", Map.of("state", f.state().name(),
                "roundsKept", kept, "nextRound", Math.min(kept + 1, spec.rounds())));
        return new Progress(done, global, globalBytes, previous, records, true);
    }

    /** A stored federation that cannot be taken up again; the message says why. */
    private static final class ResumeException extends IOException {
        ResumeException(String message) {
            super(message);
        }
    }

    // Kept, not deleted: what the interrupted attempt left is evidence, and the next attempt needs the name.
    private static void setAside(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        for (int k = 1; ; k++) {
            Path aside = dir.resolveSibling(dir.getFileName() + ".interrupted-" + k);
            if (!Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
                Files.move(dir, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                return;
            }
        }
    }

    /** A round's result: the next weights (null when it failed, with the reason) and its record's digest. */
    private record RoundOutcome(Weights next, byte[] nextBytes, String reason, Digest recordDigest) {
    }

    private RoundOutcome round(String id, Active a, int n, Weights global, byte[] globalBytes, Digest previous)
            throws IOException {
        FederationSpec spec = a.spec;
        Path dir = store.dir(id);
        Instant startedAt = clock.instant();
        Digest input = Digest.of(globalBytes);
        Federation current = store.find(id).orElseThrow();
        store.update(id, f -> f.withRound(new Federation.Round(n, Federation.RoundState.RUNNING, null,
                input.toString(), null, null, null, startedAt, null,
                current.sites().stream().map(Federation.SiteRound::pending).toList())));

        Map<String, Future<SiteRun.Outcome>> running = new LinkedHashMap<>();
        for (FederationSpec.Site s : spec.sites()) {
            running.put(s.name(), sites.submit(() -> runSite(id, a, n, s, global, globalBytes)));
        }
        List<Contribution> contributions = new ArrayList<>();
        List<RoundFacts.Accepted> accepted = new ArrayList<>();
        List<RoundFacts.Excluded> excluded = new ArrayList<>();
        Files.createDirectories(dir.resolve("updates").resolve(roundDir(n)));
        for (FederationSpec.Site s : spec.sites()) {
            SiteRun.Outcome o = await(running.get(s.name()));
            Federation.Site view = current.site(s.name()).orElseThrow();
            String reason = o.reason();
            UpdateCheck.Accepted checked = null;
            if (reason == null) {
                try {
                    checked = UpdateCheck.check(global, o.weights(), spec.clipNorm());
                } catch (InvalidUpdateException e) {
                    reason = "invalid update: " + e.getMessage();
                }
            }
            if (a.cancelled && reason == null) {
                reason = "cancelled";
            }
            Federation.SiteRound result;
            if (reason == null) {
                AtomicFiles.write(dir.resolve("updates").resolve(roundDir(n)).resolve(s.name() + ".npz"),
                        o.updateBytes());
                contributions.add(new Contribution(s.name(), checked.delta(), o.examples()));
                accepted.add(new RoundFacts.Accepted(s.name(), s.team(), view.dataset(),
                        Digest.parse(view.datasetDigest()), view.policy(), Digest.parse(view.policyDigest()),
                        o.updateDigest(), o.examples(), checked.norm(), checked.clipped()));
                result = new Federation.SiteRound(s.name(), s.team(), Federation.SiteState.ACCEPTED, null,
                        o.updateDigest().toString(), o.examples(), checked.norm(), checked.clipped(), o.metrics(),
                        o.interfaces());
            } else {
                excluded.add(new RoundFacts.Excluded(s.name(), s.team(), reason));
                result = new Federation.SiteRound(s.name(), s.team(), Federation.SiteState.EXCLUDED, reason, null,
                        null, null, null, o.metrics(), o.interfaces());
            }
            store.update(id, f -> f.withRound(n, r -> r.withSite(result)));
        }

        Weights next = null;
        byte[] nextBytes = null;
        String failure = null;
        if (a.cancelled) {
            failure = "cancelled on request";
        } else if (contributions.size() < spec.quorum()) {
            failure = "only " + contributions.size() + " of " + spec.sites().size()
                    + " site(s) sent an acceptable update; the quorum is " + spec.quorum();
        } else {
            double[] g = global.flat();
            double[] delta = spec.aggregation().delta(contributions);
            for (int i = 0; i < g.length; i++) {
                g[i] += delta[i];
            }
            next = global.withFlat(g);
            if (next.tensors().stream().anyMatch(t -> java.util.Arrays.stream(t.raw()).anyMatch(v -> !Double.isFinite(v)))) {
                failure = "the aggregated weights are not finite";
                next = null;
            } else {
                nextBytes = Npz.write(next);
                AtomicFiles.write(dir.resolve("globals").resolve(RoundStatement.globalName(n)), nextBytes);
            }
        }
        Instant finishedAt = clock.instant();
        Digest output = next == null ? null : Digest.of(nextBytes);
        RoundFacts facts = new RoundFacts(id, spec.name(), Digest.of(spec.document().toString()), n, spec.rounds(),
                previous, RoundStatement.globalName(n - 1), input, spec.aggregation().describe(), spec.clipNorm(),
                spec.quorum(), accepted, excluded, RoundStatement.globalName(n), output, failure,
                ImageRef.parse(spec.image()).repository(), Digest.parse(current.imageDigest()), settings.builderId(),
                startedAt, finishedAt);
        byte[] record = Bundles.signStatement(signers.get(), RoundStatement.toJson(facts));
        Path recordFile = dir.resolve("rounds").resolve(RoundStatement.fileName(n));
        AtomicFiles.write(recordFile, record);
        Digest recordDigest = Digest.of(record);
        String why = failure;
        Federation.RoundState state = failure == null ? Federation.RoundState.AGGREGATED
                : a.cancelled ? Federation.RoundState.CANCELLED : Federation.RoundState.FAILED;
        store.update(id, f -> f.withRound(n, r -> new Federation.Round(n, state, why, r.inputDigest(),
                output == null ? null : output.toString(), RoundStatement.fileName(n), recordDigest.toString(),
                r.startedAt(), finishedAt, r.sites())));
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("round", n);
        details.put("accepted", accepted.stream().map(RoundFacts.Accepted::site).toList());
        details.put("excluded", excluded.stream().map(e -> e.site() + ": " + e.reason()).toList());
        details.put("input", input.toString());
        details.put("output", output == null ? "-" : output.toString());
        details.put("record", recordDigest.toString());
        audit.record("cloister", "federation.round", id, failure == null ? "aggregated" : "failed", details);
        LOG.infof("federation %s round %d: %d accepted, %d excluded, %s", id, n, accepted.size(), excluded.size(),
                failure == null ? "output " + output : failure);
        return new RoundOutcome(next, nextBytes, failure, recordDigest);
    }

    private static String roundDir(int n) {
        return String.format("round-%04d", n);
    }

    private SiteRun.Outcome runSite(String id, Active a, int n, FederationSpec.Site s, Weights global,
                                    byte[] globalBytes) {
        if (a.cancelled) {
            return SiteRun.Outcome.excluded("cancelled", Map.of(), List.of());
        }
        store.update(id, f -> f.withRound(n, r -> r.withSite(r.sites().stream()
                .filter(x -> x.site().equals(s.name())).findFirst().orElseThrow().running())));
        Path dir = store.dir(id);
        SiteRun.Request request = new SiteRun.Request(withEnv(s.job(), Map.of(ENV_MODE, "round",
                ENV_ROUND, Integer.toString(n), ENV_ROUNDS, Integer.toString(a.spec.rounds()))),
                a.policies.get(s.name()), a.datasets.get(s.name()), Map.of(SiteRun.INPUT_FILE, globalBytes), global,
                limits(a.spec, global), true, dir.resolve("runs").resolve(roundDir(n)).resolve(s.name()),
                dir.resolve("logs").resolve(s.name()).resolve(roundDir(n) + ".log"));
        return siteRun.run(request, runId -> trackRun(a, runId));
    }

    private void trackRun(Active a, String runId) {
        a.runIds.add(runId);
        if (a.cancelled) {
            runtime.cancel(runId);
        }
    }

    private static Npz.Limits limits(FederationSpec spec, Weights model) {
        return new Npz.Limits(spec.maxUpdateBytes().bytes(), Math.max(1, model.tensors().size()),
                spec.maxUpdateBytes().bytes());
    }

    private static JobSpec withEnv(JobSpec job, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>(job.env());
        env.putAll(extra);
        return new JobSpec(job.name(), job.team(), job.policy(), job.image(), job.command(), env,
                job.hyperparameters(), job.dataset(), job.resources(), job.maxRuntime());
    }

    private static SiteRun.Outcome await(Future<SiteRun.Outcome> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return SiteRun.Outcome.excluded("interrupted while waiting for the site", Map.of(), List.of());
        } catch (ExecutionException e) {
            LOG.errorf(e.getCause(), "a site run failed unexpectedly");
            return SiteRun.Outcome.excluded("internal error while running the site (see the server log)", Map.of(),
                    List.of());
        }
    }

    // The final weights sealed like a job's model; SEALED only once the whole chain verifies with the host's key.
    private boolean seal(String id, Active a, byte[] finalBytes, Digest initial, List<FederationFacts.RecordRef> records,
                         Instant started) {
        Path dir = store.dir(id);
        Path model = dir.resolve(MODEL_DIR);
        Federation f = store.find(id).orElseThrow();
        try {
            Files.createDirectories(model);
            AtomicFiles.write(model.resolve(MODEL_FILE), finalBytes);
            List<FederationFacts.SiteFacts> sites = f.sites().stream().map(s -> new FederationFacts.SiteFacts(
                    s.name(), s.team(), s.dataset(), Digest.parse(s.datasetDigest()), s.policy(),
                    Digest.parse(s.policyDigest()), s.seccomp(), Digest.parse(s.seccompDigest()), s.runtime()))
                    .toList();
            Instant sealedAt = clock.instant();
            FederationFacts facts = new FederationFacts(id, settings.builderId(), f.spec(),
                    ImageRef.parse(f.image()).repository(), Digest.parse(f.imageDigest()), f.imagePinnedBy(), sites,
                    initial, records, f.aggregation(), f.submittedAt(), started, sealedAt);
            JobSealer.Seal seal = sealer.seal(model, manifest -> FederationProvenance.statement(facts, manifest));
            chainCheck.verify(dir, seal.keyId().hex());
            store.update(id, x -> x.withSeal(seal.manifest().rootDigest().toString(), seal.keyId().hex(), sealedAt));
            audit.record("cloister", "federation.seal", id, "sealed", Map.of(
                    "modelDigest", seal.manifest().rootDigest().toString(), "keyId", seal.keyId().hex(),
                    "rounds", records.size()));
            return true;
        } catch (SealException | VerificationException | IOException | RuntimeException e) {
            LOG.warnf("sealing federation %s failed: %s", id, e.getMessage());
            audit.record("cloister", "federation.seal", id, "failed", Map.of("reason", String.valueOf(e.getMessage())));
            transition(id, Federation.State.FAILED, "sealing failed: " + e.getMessage());
            return false;
        }
    }

    /**
     * Held-out evaluation, after sealing: each site's solo model (the same trainer on that site's data alone, from
     * the same zeros, for as many rounds of local epochs) and then one container on the evaluation dataset given the
     * final global weights and every solo model, which reports the accuracy of each. The numbers are that
     * container's; the host only relays them.
     */
    private Map<String, Object> evaluate(String id, Active a, Weights initial, byte[] finalBytes) {
        FederationSpec spec = a.spec;
        Path dir = store.dir(id).resolve("evaluation");
        byte[] zeros = Npz.write(initial);
        Map<String, Future<SiteRun.Outcome>> solos = new LinkedHashMap<>();
        for (FederationSpec.Site s : spec.sites()) {
            SiteRun.Request request = new SiteRun.Request(withEnv(s.job(), Map.of(ENV_MODE, "solo",
                    ENV_ROUNDS, Integer.toString(spec.rounds()))), a.policies.get(s.name()),
                    a.datasets.get(s.name()), Map.of(SiteRun.INPUT_FILE, zeros), initial, limits(spec, initial), true,
                    dir.resolve("solo-" + s.name()), store.dir(id).resolve("logs").resolve(s.name()).resolve("solo.log"));
            solos.put(s.name(), sites.submit(() -> siteRun.run(request, runId -> trackRun(a, runId))));
        }
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put(SiteRun.INPUT_FILE, finalBytes);
        Map<String, Object> report = new LinkedHashMap<>();
        Map<String, Object> soloProblems = new LinkedHashMap<>();
        for (FederationSpec.Site s : spec.sites()) {
            SiteRun.Outcome o = await(solos.get(s.name()));
            if (o.accepted()) {
                inputs.put("solo-" + s.name() + ".npz", o.updateBytes());
            } else {
                soloProblems.put(s.name(), o.reason());
            }
        }
        FederationSpec.Evaluation e = spec.evaluation();
        SiteRun.Request request = new SiteRun.Request(withEnv(e.job(), Map.of(ENV_MODE, "evaluate")),
                a.policies.get(EVALUATION), a.datasets.get(EVALUATION), inputs, initial,
                limits(spec, initial), false, dir.resolve("held-out"),
                store.dir(id).resolve("evaluation").resolve("evaluate.log"));
        SiteRun.Outcome o = siteRun.run(request, runId -> trackRun(a, runId));
        report.put("dataset", e.dataset());
        report.put("computedBy", "the evaluation container (trainer image, " + ENV_MODE + "=evaluate) on dataset '"
                + e.dataset() + "' under policy '" + e.policy() + "'");
        report.put("solo", "each site's solo model: the same trainer on that site's data alone, from the same zeros, "
                + "for " + spec.rounds() + " round(s) of local epochs");
        if (!o.accepted()) {
            report.put("error", o.reason());
        } else {
            report.put("examples", o.examples());
            report.put("metrics", o.metrics());
        }
        if (!soloProblems.isEmpty()) {
            report.put("soloFailures", soloProblems);
        }
        audit.record("cloister", "federation.evaluate", id, o.accepted() ? "done" : "failed", Map.of(
                "dataset", e.dataset(), "metrics", o.metrics().keySet().stream().sorted().toList()));
        return report;
    }

    private void transition(String id, Federation.State next, String why) {
        Federation f = store.find(id).orElseThrow();
        if (f.state().isFinal()) {
            return;
        }
        store.update(id, x -> x.withState(next, why, clock.instant()));
        if (next != Federation.State.RUNNING || f.state() != Federation.State.RUNNING) {
            audit.record("cloister", "federation.state", id, next.name(), Map.of("reason", why));
        }
    }

    /** Cancels a running federation: its site containers are stopped and the round in progress fails, signed. */
    public Federation cancel(String id, String actor) throws FederationException {
        Federation f = find(id);
        audit.record(actor, "federation.cancel", id, f.state().isFinal() ? "ignored" : "requested", Map.of());
        Active a = active.get(id);
        if (a != null) {
            a.cancelled = true;
            a.runIds.forEach(runtime::cancel);
        }
        return store.find(id).orElseThrow();
    }

    public Federation find(String id) throws FederationException {
        try {
            new FederationId(id);
        } catch (IllegalArgumentException e) {
            throw new FederationException(FederationException.Kind.NOT_FOUND, "no federation with that id");
        }
        return store.find(id).orElseThrow(() -> new FederationException(FederationException.Kind.NOT_FOUND,
                "no federation with that id"));
    }

    public List<Federation> list() {
        return store.all();
    }

    /** The federation's directory (rounds, globals, model), for the artifacts download. */
    public Path directory(String id) throws FederationException {
        find(id);
        return store.dir(id);
    }

    /**
     * One site's log across rounds (and its solo run), in order, each part under a header line. Who may read it is
     * decided by {@link SiteLogAccess} alone.
     *
     * @param caller the caller's team
     */
    public String siteLog(String id, String site, String caller) throws FederationException {
        Federation f = find(id);
        Federation.Site s = f.site(site).orElseThrow(() -> new FederationException(FederationException.Kind.NOT_FOUND,
                "no site '" + site + "' in federation " + id));
        if (!logAccess.mayRead(caller, s)) {
            audit.record(caller == null ? "anonymous" : caller, "federation.site.log", id + "/" + site, "refused",
                    Map.of("team", s.team()));
            throw new FederationException(FederationException.Kind.FORBIDDEN, "the log of site '" + site
                    + "' is for team '" + s.team() + "' only");
        }
        Path logs = store.dir(id).resolve("logs").resolve(s.name());
        StringBuilder out = new StringBuilder();
        if (!Files.isDirectory(logs, LinkOption.NOFOLLOW_LINKS)) {
            return "";
        }
        try (Stream<Path> files = Files.list(logs)) {
            for (Path p : files.sorted().toList()) {
                String name = p.getFileName().toString().replace(".log", "");
                out.append("--- ").append(s.name()).append(' ').append(name).append(" ---\n");
                out.append(new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
                if (out.length() > 0 && out.charAt(out.length() - 1) != '\n') {
                    out.append('\n');
                }
            }
        } catch (IOException e) {
            LOG.warnf("reading logs of %s/%s: %s", id, site, e.getMessage());
            throw new FederationException(FederationException.Kind.CONFLICT, "the site's log cannot be read now");
        }
        return out.toString();
    }

    /**
     * Reads the stored federations after a start (after the jobs' recovery has removed this instance's orphan
     * containers, the sites' among them) and takes each unfinished one up again. One that was queued, running rounds
     * or evaluating is admitted again from its stored spec (each site's policy and dataset must still have the
     * digests recorded at submission, the trainer image the same ID) and continues after its last aggregated round:
     * the round that was running is run again from the same input, signed records are kept. One whose model was
     * sealed (SEALED or PACKAGED) is verified again and published, as a job's model would be.
     */
    public void recover() {
        store.load();
        for (Federation f : store.all()) {
            if (f.state() == Federation.State.SEALED || f.state() == Federation.State.PACKAGED) {
                audit.record("cloister", "recovery.federation", f.id(), "publishing", Map.of("state", f.state().name()));
                federations.submit(() -> republish(f.id()));
            } else if (!f.state().isFinal()) {
                resume(f);
            }
        }
    }

    /** Stops admitting and cancels every running federation. */
    @Override
    public void close() {
        accepting = false;
        active.values().forEach(a -> {
            a.cancelled = true;
            a.runIds.forEach(runtime::cancel);
        });
        federations.shutdown();
        sites.shutdown();
        try {
            if (!federations.awaitTermination(30, TimeUnit.SECONDS)) {
                federations.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sites.shutdownNow();
    }
}
