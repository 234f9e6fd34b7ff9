package dev.cloister;

import dev.cloister.audit.AuditLog;
import dev.cloister.audit.DatabaseAuditStore;
import dev.cloister.federation.FederationService;
import dev.cloister.federation.SiteLogAccess;
import dev.cloister.dataset.DatabaseDatasetStore;
import dev.cloister.audit.CheckpointTimer;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.job.JobService;
import dev.cloister.job.JobStore;
import dev.cloister.job.SealCheck;
import dev.cloister.keys.KeyId;
import dev.cloister.verify.ModelVerifier;
import dev.cloister.verify.ReleaseClaims;
import dev.cloister.verify.SealVerifier;
import dev.cloister.verify.VerificationException;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import dev.cloister.job.JobSpecReader;
import dev.cloister.policy.Admission;
import dev.cloister.image.ImageReference;
import dev.cloister.image.ImageSigner;
import dev.cloister.image.ImageVerifier;
import dev.cloister.image.RegistryLimits;
import dev.cloister.image.RegistryPublisher;
import dev.cloister.image.ServingImageBuilder;
import dev.cloister.keys.HostKeys;
import dev.cloister.keys.KeyException;
import dev.cloister.keys.KeyId;
import dev.cloister.keys.KeyInfo;
import dev.cloister.keys.Passphrase;
import dev.cloister.policy.Policies;
import dev.cloister.review.PolicyReports;
import dev.cloister.review.ProbeSuite;
import dev.cloister.seal.JobSealer;
import dev.cloister.sandbox.DockerSandbox;
import dev.cloister.sandbox.DockerTimeouts;
import dev.cloister.sandbox.DockerImageBuilds;
import dev.cloister.build.BuildContext;
import dev.cloister.build.ImageBuilds;
import dev.cloister.reproduce.Reproductions;
import com.github.dockerjava.api.DockerClient;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import dev.cloister.auth.IssuerKey;
import dev.cloister.auth.RateLimiter;
import dev.cloister.auth.TokenVerification;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/** Builds the domain objects from configuration once, at start-up; the domain itself knows nothing of CDI. */
public class Wiring {

    private static final Logger LOG = Logger.getLogger(Wiring.class);

    @Produces
    @Singleton
    Clock clock() {
        return Clock.systemUTC();
    }

    /** Loaded eagerly: an invalid policy stops the service from starting, naming file, field and reason. */
    @Produces
    @Singleton
    @Startup
    Policies policies(CloisterConfig config, AuditLog audit) {
        Policies p;
        try {
            p = Policies.load(config.policies().dir(), config.policies().seccompDir(), config.policies().defaultPolicy());
        } catch (dev.cloister.policy.PolicyException e) {
            audit.record("cloister", "policy.load", String.valueOf(config.policies().dir()), "refused",
                    Map.of("reason", e.getMessage()));
            throw e;
        }
        p.all().forEach(policy -> {
            LOG.infof("policy %s loaded (%s, runtime %s, seccomp %s)", policy.name(),
                    policy.digest(), policy.runtime().engineName(), policy.seccomp());
            audit.record("cloister", "policy.load", policy.name(), "loaded", Map.of(
                    "digest", policy.digest().toString(), "runtime", policy.runtime().engineName(),
                    "seccomp", policy.seccomp().name(), "seccompDigest", policy.seccomp().digest().toString(),
                    "default", policy.name().equals(p.defaultPolicy().name())));
        });
        return p;
    }

    @Produces
    @Singleton
    DatasetRegistry datasets(CloisterConfig config, Clock clock) {
        return new DatasetRegistry(config.datasets().root().orElse(config.dataDir().resolve("datasets")), clock,
                new DatabaseDatasetStore());
    }

    @Produces
    @Singleton
    AuditLog audit(CloisterConfig config, Clock clock) {
        return new AuditLog(new DatabaseAuditStore(), clock,
                new AuditLog.Checkpoints(config.audit().checkpointEvery(), config.audit().checkpointInterval()));
    }

    /**
     * Checkpoints are signed with the active host key; the log exists before the keys so that opening them is
     * audited, and gets its signer here, once both are up.
     */
    @Produces
    @Singleton
    @Startup
    CheckpointTimer auditCheckpoints(AuditLog audit, HostKeys keys) {
        return CheckpointTimer.start(audit, keys::signer);
    }

    void close(@Disposes CheckpointTimer checkpoints) {
        checkpoints.close();
    }

    @Produces
    @Singleton
    JobSpecReader jobSpecReader(CloisterConfig config) {
        return new JobSpecReader(config.jobs().maxSpecBytes());
    }

    @Produces
    @Singleton
    DockerTimeouts dockerTimeouts(CloisterConfig config) {
        CloisterConfig.Docker d = config.docker();
        return new DockerTimeouts(d.connectTimeout(), d.apiTimeout(), d.logDrainTimeout(), d.mountTimeout(), d.poll(),
                d.engineOutage());
    }

    @Produces
    @Singleton
    DockerClient dockerClient(CloisterConfig config, DockerTimeouts timeouts) {
        return DockerSandbox.connect(URI.create(config.docker().host()), timeouts);
    }

    @Produces
    @Singleton
    DockerSandbox sandbox(DockerClient docker, DockerTimeouts timeouts, CloisterConfig config, Clock clock) {
        return new DockerSandbox(docker, timeouts, config.docker().imageRecheck(), clock);
    }

    /** Opened eagerly: a key that cannot be read stops the service rather than its first seal. */
    @Produces
    @Singleton
    @Startup
    HostKeys hostKeys(CloisterConfig config, Clock clock, AuditLog audit) throws KeyException, IOException {
        Path data = absolute(config.dataDir());
        Path dir = config.keys().dir().orElse(data.resolve("keys"));
        char[] passphrase = Passphrase.resolve(config.keys().passphrase(),
                config.keys().passphraseFile().orElse(data.resolve("secrets").resolve("key-passphrase")));
        HostKeys keys;
        try {
            keys = HostKeys.open(dir, passphrase, clock);
        } catch (KeyException e) {
            // Key exception messages never carry key material or passphrases.
            audit.record("cloister", "key.open", dir.toString(), "failed", Map.of("reason", e.getMessage()));
            throw e;
        } finally {
            java.util.Arrays.fill(passphrase, '\0');
        }
        keys.generatedOnOpen().ifPresent(k -> audit.record("cloister", "key.create", k.id().hex(), "created",
                Map.of("directory", dir.toString())));
        if (config.keys().importPem().isPresent()) {
            String pem = java.nio.file.Files.readString(config.keys().importPem().get());
            char[] importPass = config.keys().importPassphrase().map(String::toCharArray).orElse(null);
            KeyId before = keys.activeKeyId();
            KeyInfo imported;
            try {
                // Idempotent: importing the key that is already active changes nothing.
                imported = keys.importKey(pem, importPass);
            } catch (KeyException e) {
                audit.record("cloister", "key.import", String.valueOf(config.keys().importPem().get()), "failed",
                        Map.of("reason", e.getMessage()));
                throw e;
            }
            if (!imported.id().equals(before)) {
                audit.record("cloister", "key.import", imported.id().hex(), "imported", Map.of("previous", before.hex(),
                        "file", config.keys().importPem().get().toString()));
            }
            LOG.infof("configured signing key %s is active", imported.id());
        }
        LOG.infof("host signing key %s", keys.activeKeyId());
        return keys;
    }

    /**
     * The token issuer key, generated on first start (audited by key id); opened eagerly so that a key others can
     * read stops the service rather than its first request.
     */
    @Produces
    @Singleton
    @Startup
    IssuerKey issuerKey(CloisterConfig config, AuditLog audit) throws IOException {
        Path dir = config.auth().dir().orElse(absolute(config.dataDir()).resolve("auth"));
        boolean existed = java.nio.file.Files.exists(dir.resolve("issuer-key.pem"));
        IssuerKey key = IssuerKey.openOrCreate(dir);
        if (!existed) {
            audit.record("cloister", "auth.issuer-key.create", key.keyId(), "created", Map.of("directory", dir.toString()));
        }
        LOG.infof("token issuer key %s", key.keyId());
        return key;
    }

    @Produces
    @Singleton
    TokenVerification.Settings tokenSettings(CloisterConfig config) {
        return new TokenVerification.Settings(config.auth().issuer(), config.auth().audience(),
                config.auth().maxTokenTtl());
    }

    @Produces
    @Singleton
    @Named("submissions")
    RateLimiter submissionLimits(CloisterConfig config, Clock clock) {
        return new RateLimiter("submissions", config.limits().submissionsPerMinute(), config.limits().submissionBurst(),
                clock);
    }

    @Produces
    @Singleton
    @Named("log-streams")
    RateLimiter logStreamLimits(CloisterConfig config, Clock clock) {
        return new RateLimiter("log requests", config.limits().logStreamsPerMinute(), config.limits().logStreamBurst(),
                clock);
    }

    void close(@Disposes HostKeys keys) {
        keys.close();
    }

    /** Start-up observers run in ascending priority: jobs are settled before federations resume. */
    private static final int RECOVER_JOBS = jakarta.interceptor.Interceptor.Priority.APPLICATION + 500;
    private static final int RECOVER_FEDERATIONS = RECOVER_JOBS + 100;

    @Produces
    @Singleton
    RegistryPublisher publisher(CloisterConfig config, HostKeys keys, Clock clock) {
        CloisterConfig.Images images = config.images();
        Path refFile = images.servingBaseRef().orElse(absolute(config.dataDir()).resolve("images").resolve("serving-base.ref"));
        Supplier<Optional<String>> base = () -> images.servingBase().or(() -> readRef(refFile));
        Path cache = absolute(config.dataDir()).resolve("cache").resolve("jib");
        return new RegistryPublisher(new ServingImageBuilder(cache, RegistryLimits.DEFAULTS, clock),
                new ImageSigner(keys::signer, builderId(config), RegistryLimits.DEFAULTS),
                new RegistryPublisher.Target(images.registry(), images.repositoryPrefix(), base,
                        absolute(images.servingCode())));
    }

    private static Optional<String> readRef(Path file) {
        try {
            return Optional.of(java.nio.file.Files.readString(file).trim()).filter(s -> !s.isEmpty());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Produces
    @Singleton
    ImageVerifier imageVerifier(Clock clock) {
        return new ImageVerifier(RegistryLimits.DEFAULTS, clock);
    }

    private static String builderId(CloisterConfig config) {
        return config.builderId().orElseGet(() -> "urn:cloister:host:" + hostname());
    }

    /** Training image builds, over an engine connection of their own (see {@link DockerImageBuilds#open}). */
    @Produces
    @Singleton
    DockerImageBuilds dockerImageBuilds(CloisterConfig config, DockerTimeouts timeouts) {
        CloisterConfig.Builds b = config.builds();
        return DockerImageBuilds.open(URI.create(config.docker().host()), timeouts,
                new DockerImageBuilds.Timeouts(b.timeout(), b.pushTimeout()));
    }

    void close(@Disposes DockerImageBuilds builds) {
        builds.close();
    }

    @Produces
    @Singleton
    ImageBuilds imageBuilds(CloisterConfig config, Policies policies, DockerImageBuilds engine, HostKeys keys,
                            AuditLog audit, Clock clock) {
        Path data = absolute(config.dataDir());
        return new ImageBuilds(policies, engine, keys::signer, audit, new ImageBuilds.Settings(config.images().registry(),
                data.resolve("work").resolve("builds"), data.resolve("images").resolve("builds"),
                new BuildContext.Limits(config.builds().maxContextBytes(), config.builds().maxContextEntries()),
                builderId(config)), clock);
    }

    /** The jobs in the database (the datasource's schema is migrated by Flyway before this runs). */
    @Produces
    @Singleton
    JobStore jobStore() {
        return JobStore.database();
    }

    /** A seal counts only when Cloister's own verifier accepts it with the public key that signed it. */
    @Produces
    @Singleton
    SealCheck sealCheck(HostKeys keys) {
        SealVerifier verifier = new SealVerifier(new ModelVerifier());
        return (dir, keyId) -> {
            String pem;
            try {
                pem = keys.publicKey(KeyId.parse(keyId)).text();
            } catch (KeyException | IllegalArgumentException e) {
                throw new VerificationException("the sealing key " + keyId + " is not one of this host's keys");
            }
            verifier.verify(dir, pem, Optional.of(dir.resolve(JobSealer.PROVENANCE_FILE)), ReleaseClaims.NONE, List.of());
        };
    }

    @Produces
    @Singleton
    JobService jobs(CloisterConfig config, Policies policies, DatasetRegistry datasets, DockerSandbox sandbox,
                    HostKeys keys, SealCheck sealCheck, RegistryPublisher publisher, JobSpecReader reader,
                    AuditLog audit, JobStore store, ImageBuilds builds, Clock clock) {
        // A job's image that Cloister built: its provenance names the image's own (signed) build provenance.
        dev.cloister.job.ImageProvenances imageProvenances = image -> builds.find(image.digest())
                .filter(r -> r.image().equals(image.toString()))
                .map(r -> dev.cloister.digest.Digest.parse(r.provenanceDigest()));
        String builderId = builderId(config);
        return new JobService(policies, datasets, new Admission(absolute(config.dataDir()).resolve("work")), sandbox,
                new JobSealer(keys::signer, config.sealHashThreads()), sealCheck, publisher, reader, audit, store,
                new JobService.Settings(absolute(config.dataDir()).resolve("artifacts"), config.jobs().concurrency(),
                        builderId, imageProvenances), clock);
    }

    /** Federations: their sites run through the same admission and sandbox as jobs; sealed and published like jobs. */
    @Produces
    @Singleton
    FederationService federations(CloisterConfig config, Policies policies,
            DatasetRegistry datasets, DockerSandbox sandbox, HostKeys keys, JobSpecReader reader, AuditLog audit,
            RegistryPublisher publisher, Clock clock) {
        dev.cloister.verify.FederationVerifier verifier = new dev.cloister.verify.FederationVerifier(new ModelVerifier());
        FederationService.ChainCheck check = (dir, keyId) -> {
            String pem;
            try {
                pem = keys.publicKey(KeyId.parse(keyId)).text();
            } catch (KeyException | IllegalArgumentException e) {
                throw new VerificationException("the sealing key " + keyId + " is not one of this host's keys");
            }
            verifier.verify(dir, pem);
        };
        Path data = absolute(config.dataDir());
        return new FederationService(policies, datasets, new Admission(data.resolve("work")),
                sandbox, reader, new JobSealer(keys::signer, config.sealHashThreads()), check, publisher, keys::signer,
                audit,
                SiteLogAccess.TEAM_ONLY,
                new FederationService.Settings(data.resolve("federations"), builderId(config),
                        config.federations().concurrency(), config.federations().siteConcurrency()), clock);
    }

    /**
     * After the jobs' recovery (which removes this instance's orphan containers, an interrupted round's site
     * containers among them), so that the sites a resumed federation starts are not taken for orphans.
     */
    void recoverFederations(@Observes @jakarta.annotation.Priority(RECOVER_FEDERATIONS) StartupEvent start,
                            FederationService federations) {
        federations.recover();
    }

    void close(@Disposes FederationService federations) {
        federations.close();
    }

    /** Re-runs of sealed jobs and their verdicts; hears every reproduction re-run that ends. */
    @Produces
    @Singleton
    Reproductions reproductions(CloisterConfig config, JobService jobs, Policies policies, DatasetRegistry datasets,
                                DockerSandbox sandbox, SealCheck sealCheck, HostKeys keys, AuditLog audit, Clock clock) {
        Reproductions r = new Reproductions(jobs, policies, datasets, sandbox, sealCheck, keys::signer, audit,
                builderId(config), clock);
        jobs.onReproductionEnded(r);
        return r;
    }

    /**
     * Once the store, the sandbox and the keys are up: settle the jobs an earlier process left unfinished (with the
     * reproduction verdicts wired first, so a re-run that ends now is judged).
     */
    void recoverJobs(@Observes @jakarta.annotation.Priority(RECOVER_JOBS) StartupEvent start, JobService jobs,
                     Reproductions reproductions) {
        jobs.recover();
    }

    @Produces
    @Singleton
    ProbeSuite probeSuite(CloisterConfig config, JobService jobs, Clock clock) {
        return new ProbeSuite(jobs, absolute(config.dataDir()).resolve("evidence").resolve("probes"), clock);
    }

    void close(@Disposes ProbeSuite probes) {
        probes.close();
    }

    /** Reports compare each policy's profile with Docker's default, kept beside the profiles (deploy/seccomp). */
    @Produces
    @Singleton
    PolicyReports policyReports(CloisterConfig config, Policies policies, JobService jobs, ProbeSuite probes,
                                Clock clock) throws IOException {
        String dockerDefault = java.nio.file.Files.readString(config.policies().seccompDir().resolve("docker-default.json"));
        return new PolicyReports(policies, jobs, probes, dockerDefault, clock);
    }

    private static String hostname() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    // Docker needs absolute host paths for bind mounts; a relative data dir is taken from the working directory.
    private static Path absolute(Path p) {
        return p.toAbsolutePath().normalize();
    }

    void close(@Disposes JobService jobs) {
        jobs.close();
    }

    /**
     * Runs in Quarkus's pre-shutdown phase ({@code quarkus.shutdown.delay-enabled}), while the engine connection and
     * the database still work: Hibernate closes before {@link ShutdownEvent} observers run, and an audit entry for
     * the shutdown written then was lost (measured by RecoveryIT). By default lets go of running jobs, which the
     * engine keeps running and the next start follows again; with {@code cloister.jobs.on-shutdown=cancel}, stops
     * them. Idempotent with the observer and disposer below.
     */
    void stopJobsFirst(@Observes ShutdownDelayInitiatedEvent event, JobService jobs, CloisterConfig config,
                       FederationService federations, CheckpointTimer checkpoints) {
        stopJobs(jobs, config, federations);
        checkpoints.close(); // the last checkpoint covers the shutdown entry; the disposer then finds nothing to sign
    }

    /** The same, should the application stop without the pre-shutdown phase (then the database may be gone). */
    void stopJobsAtShutdown(@Observes ShutdownEvent event, JobService jobs, CloisterConfig config,
                            FederationService federations) {
        stopJobs(jobs, config, federations);
    }

    private static void stopJobs(JobService jobs, CloisterConfig config, FederationService federations) {
        federations.close(); // federations are not resumed: their site containers stop with the service
        if (config.jobs().onShutdown() == CloisterConfig.Jobs.OnShutdown.DETACH) {
            jobs.detach();
        } else {
            jobs.close();
        }
    }

    void close(@Disposes DockerSandbox sandbox) {
        sandbox.close();
    }

    void close(@Disposes DockerClient docker) throws IOException {
        docker.close();
    }
}
