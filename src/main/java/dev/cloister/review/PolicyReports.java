package dev.cloister.review;

import dev.cloister.job.Job;
import dev.cloister.job.JobService;
import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.SeccompSummary;

import java.time.Clock;
import java.util.Comparator;
import java.util.Optional;

/** Assembles a {@link PolicyReport} from the loaded policy, the jobs run under it and the recorded probe evidence. */
public final class PolicyReports {

    private final Policies policies;
    private final JobService jobs;
    private final ProbeSuite probes;
    private final SeccompSummary dockerDefault;
    private final Clock clock;

    /** @param dockerDefaultJson Docker's default seccomp profile, the baseline the report compares against */
    public PolicyReports(Policies policies, JobService jobs, ProbeSuite probes, String dockerDefaultJson, Clock clock) {
        this.policies = policies;
        this.jobs = jobs;
        this.probes = probes;
        this.dockerDefault = SeccompSummary.of(dockerDefaultJson);
        this.clock = clock;
    }

    /** The report of the policy named {@code name}, if there is one. */
    public Optional<PolicyReport> report(String name) {
        return policies.find(name).map(this::report);
    }

    private PolicyReport report(Policy policy) {
        SeccompSummary seccomp = SeccompSummary.of(policy.seccomp().json());
        PolicyReport.Cis cis = jobs.list().stream()
                .filter(j -> j.policy().equals(policy.name()))
                .sorted(Comparator.comparing(Job::submittedAt).reversed())
                .flatMap(j -> jobs.cis(j.id()).map(r -> new PolicyReport.Cis(j.id().value(), j.submittedAt(), r))
                        .stream())
                .findFirst().orElse(null);
        return new PolicyReport(clock.instant(), PolicySettings.of(policy), seccomp,
                dockerDefault.differenceTo(seccomp), cis, probes.latest(policy.name()).orElse(null),
                probes.running(policy.name()).orElse(null));
    }
}
