package dev.cloister.policy;

import dev.cloister.dataset.Dataset;
import dev.cloister.digest.Digest;
import dev.cloister.job.JobId;
import dev.cloister.job.JobSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A federated site's extra mount: only under a policy that sets {@code federation.allowInput}, and then read-only
 * with nosuid, nodev and noexec, inside the site's work directory. Closed by default.
 */
class FederatedSiteAdmissionTest {

    private static final JobId ID = new JobId("job-" + "1".repeat(32));
    private final Policies policies = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted");
    private final Admission admission = new Admission(Path.of("/var/lib/cloister/work"));
    private final Dataset siteA = new Dataset("fed-site-a", "oncology-a", Path.of("/var/lib/cloister/datasets/fed-site-a"),
            Digest.of("a"), 1, 1, Instant.EPOCH);

    private static JobSpec site(String policy, String dataset) {
        return new JobSpec("fed-site-a", "oncology-a", policy, "cloister/example-federated@sha256:" + "d".repeat(64),
                List.of("python3", "/opt/cloister/federated/train_site.py"), Map.of(), Map.of(), dataset,
                JobSpec.Resources.POLICY_CAPS, null);
    }

    @Test
    void theFederatedPolicyAddsAReadOnlyInput() throws AdmissionException {
        Policy federated = policies.find("federated").orElseThrow();
        assertTrue(federated.federatedInput());
        ContainerPlan plan = admission.admitSite(ID, site("federated", "fed-site-a"), federated, siteA);
        ContainerPlan.Mount in = plan.mounts().stream().filter(m -> m.kind() == ContainerPlan.MountKind.INPUT)
                .findFirst().orElseThrow();
        assertEquals("/in", in.target());
        assertTrue(in.readOnly() && in.nosuid() && in.nodev() && in.noexec());
        assertEquals(plan.workDir().resolve("in"), in.source());
        assertEquals("none", plan.networkMode());
        // A job under the same policy gets no /in: only a federation's site run asks for it.
        ContainerPlan job = admission.admit(ID, site("federated", "fed-site-a"), federated, siteA);
        assertFalse(job.mounts().stream().anyMatch(m -> m.kind() == ContainerPlan.MountKind.INPUT));
    }

    @Test
    void policiesWithoutItRefuseSitesWithEveryReason() {
        Policy restricted = policies.find("restricted").orElseThrow();
        assertFalse(restricted.federatedInput(), "closed unless a policy sets it");
        List<Violation> v = assertThrows(AdmissionException.class,
                () -> admission.admitSite(ID, site("restricted", "fed-site-a"), restricted, siteA)).violations();
        assertEquals(List.of(
                new Violation("policy", "policy 'restricted' does not allow federated sites (federation.allowInput "
                        + "is not set)"),
                new Violation("team", "policy 'restricted' does not admit jobs of team 'oncology-a'"),
                new Violation("image", "repository 'cloister/example-federated' is not allowed by policy 'restricted' "
                        + "(allowed: " + restricted.allowedImageRepositories() + ")"),
                new Violation("dataset", "dataset 'fed-site-a' is not allowed by policy 'restricted'")), v);
    }

    @Test
    void theFlagIsReadStrictlyAndDiffedAsALoosening() {
        PolicyReader reader = new PolicyReader(Path.of("seccomp-profiles"));
        Policy off = reader.read("p", "p", "name: p\n".getBytes());
        assertFalse(off.federatedInput());
        Policy on = reader.read("p", "p", "name: p\nfederation: {allowInput: true}\n".getBytes());
        assertTrue(on.federatedInput());
        PolicyException e = assertThrows(PolicyException.class,
                () -> reader.read("p", "p", "name: p\nfederation: {allowInput: yes-please, mounts: [/]}\n".getBytes()));
        assertTrue(e.getMessage().contains("federation.mounts"), e.getMessage());
        PolicyDiff diff = PolicyDiff.between(off, on);
        assertEquals(List.of("federation.allowInput"), diff.loosening().stream().map(PolicyDiff.Change::field).toList());
    }
}
