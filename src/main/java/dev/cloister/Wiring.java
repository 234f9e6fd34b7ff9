package dev.cloister;

import dev.cloister.audit.AuditLog;
import dev.cloister.dataset.DatasetRegistry;
import dev.cloister.job.JobService;
import dev.cloister.job.JobSpecReader;
import dev.cloister.policy.Admission;
import dev.cloister.policy.Policies;
import dev.cloister.sandbox.SandboxRuntime;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.time.Clock;

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
    Policies policies(CloisterConfig config) {
        Policies p = Policies.load(config.policies().dir(), config.policies().seccompDir(), config.policies().defaultPolicy());
        p.all().forEach(policy -> LOG.infof("policy %s loaded (%s, runtime %s, seccomp %s)", policy.name(),
                policy.digest(), policy.runtime().engineName(), policy.seccomp()));
        return p;
    }

    @Produces
    @Singleton
    DatasetRegistry datasets(CloisterConfig config, Clock clock) {
        return new DatasetRegistry(config.datasets().root().orElse(config.dataDir().resolve("datasets")), clock);
    }

    @Produces
    @Singleton
    AuditLog audit(CloisterConfig config, Clock clock) {
        return new AuditLog(config.dataDir().resolve("audit").resolve("audit.jsonl"), clock);
    }

    @Produces
    @Singleton
    JobSpecReader jobSpecReader(CloisterConfig config) {
        return new JobSpecReader(config.jobs().maxSpecBytes());
    }

    @Produces
    @Singleton
    JobService jobs(CloisterConfig config, Policies policies, DatasetRegistry datasets, SandboxRuntime sandbox,
                    JobSpecReader reader, AuditLog audit, Clock clock) {
        return new JobService(policies, datasets, new Admission(config.dataDir().resolve("work")), sandbox, reader,
                audit, new JobService.Settings(config.dataDir().resolve("artifacts"), config.jobs().concurrency()), clock);
    }

    void close(@Disposes JobService jobs) {
        jobs.close();
    }
}
