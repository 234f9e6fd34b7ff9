package dev.cloister.cis;

import dev.cloister.cis.CisResult.Status;
import dev.cloister.digest.Digest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static dev.cloister.cis.CisResult.Status.CANNOT_PASS_ON_HOST;
import static dev.cloister.cis.CisResult.Status.FAIL;
import static dev.cloister.cis.CisResult.Status.NOT_APPLICABLE;
import static dev.cloister.cis.CisResult.Status.PASS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Section 5 on hand-built facts: a restricted job as Cloister creates it, then one weakening per check. */
class CisBenchmarkTest {

    private final CisBenchmark benchmark = new CisBenchmark();

    /** What a restricted job gets on this host; every other item passes. */
    static final Map<String, Status> NOT_PASSING_FOR_A_RESTRICTED_JOB = Map.of(
            "5.2", CANNOT_PASS_ON_HOST,   // no AppArmor in this kernel
            "5.3", NOT_APPLICABLE,        // no SELinux on Debian
            "5.23", NOT_APPLICABLE,       // docker exec: a command, not a container setting
            "5.24", NOT_APPLICABLE,
            "5.27", NOT_APPLICABLE,       // batch job: no service to health-check
            "5.28", NOT_APPLICABLE);      // created from an image ID, not a tag

    // ------------------------------------------------------------------------------------------- the whole section

    @Test
    void aRestrictedJobPassesEveryItemThatCanBeJudgedAndPassedHere() {
        List<CisResult> results = benchmark.evaluate(new JobFacts().build());

        Map<String, Status> statuses = new LinkedHashMap<>();
        results.forEach(r -> statuses.put(r.id(), r.status()));
        for (CisResult r : results) {
            Status expected = NOT_PASSING_FOR_A_RESTRICTED_JOB.getOrDefault(r.id(), PASS);
            assertEquals(expected, r.status(), () -> r.id() + " " + r.title() + ": " + r.evidence());
        }
        assertEquals(32, statuses.size(), statuses::toString);
    }

    @Test
    void coversSection5InTheBenchmarksOrderWithItsTitles() {
        List<CisResult> results = benchmark.evaluate(new JobFacts().build());

        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= 32; i++) {
            ids.add("5." + i);
        }
        assertEquals(ids, results.stream().map(CisResult::id).toList());
        assertEquals(Arrays.stream(CisItem.values()).map(CisItem::title).toList(),
                results.stream().map(CisResult::title).toList());
        assertEquals("Ensure that, if applicable, an AppArmor Profile is enabled", results.get(1).title());
        assertEquals("Ensure that the Docker socket is not mounted inside any containers", results.get(31).title());
        results.forEach(r -> assertFalse(r.evidence().isBlank(), r.id()));
    }

    @Test
    void evidenceQuotesTheInspectedValues() {
        JobFacts f = new JobFacts();

        assertTrue(result(f, "5.11").evidence().contains("Memory=2147483648 (2 GiB), MemorySwap=2147483648"),
                result(f, "5.11").evidence());
        assertTrue(result(f, "5.29").evidence().contains("PidsLimit=256"), result(f, "5.29").evidence());
        assertTrue(result(f, "5.10").evidence().contains("NetworkMode=none"), result(f, "5.10").evidence());
        assertTrue(result(f, "5.4").evidence().contains("CapDrop=[ALL], CapAdd=[]"), result(f, "5.4").evidence());
        assertTrue(result(f, "5.20").evidence().contains("/var/lib/cloister/work/j-0123/mounts/2-output → /out (rw, rprivate)"),
                result(f, "5.20").evidence());
    }

    @Test
    void aSeccompProfileIsQuotedByItsDigestNotItsText() {
        String evidence = result(new JobFacts(), "5.22").evidence();

        assertTrue(evidence.contains("seccomp=<profile JSON, " + JobFacts.PROFILE.length() + " bytes, "
                + Digest.of(JobFacts.PROFILE) + ">"), evidence);
        assertFalse(evidence.contains("SCMP_ACT_ERRNO"), evidence);
    }

    @Test
    void resultsRefuseToGoWithoutEvidence() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CisResult("5.5", "Ensure that privileged containers are not used", PASS, " "));

        assertEquals("CIS 5.5: a result needs the evidence it rests on", e.getMessage());
    }

    // ------------------------------------------------------------------------------------------ one item at a time

    @Test
    void s5_1_anActiveSwarmFails() {
        assertStatus(FAIL, "5.1", f -> f.swarm = "active", "Swarm.LocalNodeState=active");
    }

    @Test
    void s5_2_withoutAppArmorInTheEngineNoContainerCanPass() {
        assertStatus(CANNOT_PASS_ON_HOST, "5.2", f -> { }, "SecurityOptions=[name=seccomp,profile=default] lists no apparmor");
        // Even a container that asked for a profile: the host has none to apply.
        assertStatus(CANNOT_PASS_ON_HOST, "5.2", f -> f.appArmorProfile = "docker-default", "no AppArmor");
    }

    @Test
    void s5_2_onAnAppArmorHostAContainerWithoutAProfileFails() {
        assertStatus(FAIL, "5.2", f -> appArmorHost(f).appArmorProfile = "", "AppArmorProfile=''");
        assertStatus(FAIL, "5.2", f -> appArmorHost(f).appArmorProfile = "unconfined", "AppArmorProfile=unconfined");
        assertStatus(FAIL, "5.2", f -> {
            appArmorHost(f).appArmorProfile = "docker-default";
            f.privileged = true;
        }, "Privileged=true");
        assertStatus(PASS, "5.2", f -> appArmorHost(f).appArmorProfile = "docker-default", "AppArmorProfile=docker-default");
    }

    @Test
    void s5_3_onAnSELinuxHostDisabledLabellingFails() {
        assertStatus(NOT_APPLICABLE, "5.3", f -> { }, "lists no selinux");
        assertStatus(FAIL, "5.3", f -> {
            selinuxHost(f).securityOpt = List.of("no-new-privileges", "label=disable");
            f.processLabel = "";
        }, "label=disable");
        assertStatus(FAIL, "5.3", f -> selinuxHost(f).processLabel = "", "ProcessLabel=''");
        assertStatus(PASS, "5.3", f -> selinuxHost(f).processLabel = "system_u:system_r:container_t:s0:c1,c2",
                "container_t");
    }

    @Test
    void s5_4_addedOrUndroppedCapabilitiesFail() {
        assertStatus(FAIL, "5.4", f -> f.capAdd = List.of("CAP_SYS_ADMIN"), "CapAdd=[CAP_SYS_ADMIN]");
        assertStatus(FAIL, "5.4", f -> f.capDrop = List.of("CAP_NET_RAW"), "ALL is not dropped");
        assertStatus(FAIL, "5.4", f -> f.capDrop = List.of(), "CapDrop=[]");
        assertStatus(FAIL, "5.4", f -> f.privileged = true, "Privileged=true grants every capability");
    }

    @Test
    void s5_5_aPrivilegedContainerFails() {
        assertStatus(FAIL, "5.5", f -> f.privileged = true, "HostConfig.Privileged=true");
    }

    @Test
    void s5_6_mountingASensitiveHostDirectoryFails() {
        assertStatus(FAIL, "5.6", f -> f.mounts.add(JobFacts.bind("/etc", "/host-etc", false)), "bind /etc → /host-etc (ro");
        assertStatus(FAIL, "5.6", f -> f.mounts.add(JobFacts.bind("/usr/lib/python3", "/lib", false)), "/usr/lib/python3");
        assertStatus(FAIL, "5.6", f -> f.mounts.add(JobFacts.bind("/", "/host", true)), "bind / → /host (rw");
        assertStatus(FAIL, "5.6", f -> f.mounts.add(JobFacts.bind("/proc/", "/p", true)), "/proc/ → /p");
        // A name that only starts like a sensitive directory is not below it.
        assertStatus(PASS, "5.6", f -> f.mounts.add(JobFacts.bind("/etcetera/data", "/e", false)), "/etcetera/data");
    }

    @Test
    void s5_7_aContainerRunningSshdFails() {
        assertStatus(FAIL, "5.7", f -> f.command = List.of("/usr/sbin/sshd", "-D"), "Path+Args=[/usr/sbin/sshd, -D]");
        assertStatus(PASS, "5.7", f -> { }, "the main process is not sshd");
    }

    @Test
    void s5_8_aPrivilegedHostPortFails() {
        assertStatus(FAIL, "5.8", f -> f.ports.add(new ContainerFacts.PortBinding("80/tcp", "127.0.0.1", "80")), "80/tcp→80");
        assertStatus(FAIL, "5.8", f -> f.ports.add(new ContainerFacts.PortBinding("22/tcp", "", "1000-1100")), "22/tcp→1000-1100");
        assertStatus(PASS, "5.8", f -> f.ports.add(new ContainerFacts.PortBinding("80/tcp", "127.0.0.1", "8080")), "none below 1024");
        assertStatus(PASS, "5.8", f -> f.ports.add(new ContainerFacts.PortBinding("80/tcp", "127.0.0.1", "")), "none below 1024");
    }

    @Test
    void s5_9_anyOpenPortFailsForAJob() {
        assertStatus(FAIL, "5.9", f -> f.ports.add(new ContainerFacts.PortBinding("8080/tcp", "127.0.0.1", "8080")),
                "8080/tcp→127.0.0.1:8080");
        assertStatus(FAIL, "5.9", f -> f.publishAllPorts = true, "PublishAllPorts=true");
    }

    @Test
    void s5_10_theHostNetworkFails() {
        assertStatus(FAIL, "5.10", f -> f.network = "host", "NetworkMode=host");
    }

    @Test
    void s5_11_noMemoryLimitFails() {
        assertStatus(FAIL, "5.11", f -> f.memory = 0, "Memory=0 (0 B)");
    }

    @Test
    void s5_12_noCpuBoundFails() {
        assertStatus(FAIL, "5.12", f -> f.nanoCpus = 0, "NanoCpus=0, CpuQuota=0, CpuShares=0");
        assertStatus(FAIL, "5.12", f -> {
            f.nanoCpus = 0;
            f.cpuShares = 1024;
        }, "CpuShares=1024");
        assertStatus(PASS, "5.12", f -> {
            f.nanoCpus = 0;
            f.cpuShares = 512;
        }, "CpuShares=512");
        assertStatus(PASS, "5.12", f -> { }, "capped at 1.00 CPUs");
    }

    @Test
    void s5_13_aWritableRootFails() {
        assertStatus(FAIL, "5.13", f -> f.readOnlyRootfs = false, "ReadonlyRootfs=false");
    }

    @Test
    void s5_14_aBindingOnEveryInterfaceFails() {
        assertStatus(FAIL, "5.14", f -> f.ports.add(new ContainerFacts.PortBinding("8080/tcp", "", "8080")), "8080/tcp→*");
        assertStatus(FAIL, "5.14", f -> f.ports.add(new ContainerFacts.PortBinding("8080/tcp", "0.0.0.0", "8080")), "0.0.0.0");
        assertStatus(FAIL, "5.14", f -> f.publishAllPorts = true, "PublishAllPorts binds every exposed port");
        assertStatus(PASS, "5.14", f -> f.ports.add(new ContainerFacts.PortBinding("8080/tcp", "127.0.0.1", "8080")),
                "every binding names a host address");
    }

    @Test
    void s5_15_unboundedRestartsFail() {
        assertStatus(FAIL, "5.15", f -> f.restart = "always", "RestartPolicy=always");
        assertStatus(FAIL, "5.15", f -> f.restart = "unless-stopped", "restarts without bound");
        assertStatus(FAIL, "5.15", f -> f.restart = "on-failure", "0 means restart without bound");
        assertStatus(FAIL, "5.15", f -> {
            f.restart = "on-failure";
            f.maxRetries = 6;
        }, "MaximumRetryCount=6");
        assertStatus(PASS, "5.15", f -> {
            f.restart = "on-failure";
            f.maxRetries = 5;
        }, "MaximumRetryCount=5");
    }

    @Test
    void s5_16_theHostPidNamespaceFails() {
        assertStatus(FAIL, "5.16", f -> f.pid = "host", "PidMode=host");
    }

    @Test
    void s5_17_theHostIpcNamespaceFails() {
        assertStatus(FAIL, "5.17", f -> f.ipc = "host", "IpcMode=host");
    }

    @Test
    void s5_18_aHostDeviceFails() {
        assertStatus(FAIL, "5.18", f -> f.devices = List.of("/dev/kvm:/dev/kvm:rwm"), "/dev/kvm:/dev/kvm:rwm");
        assertStatus(FAIL, "5.18", f -> f.privileged = true, "Privileged=true exposes every host device");
    }

    @Test
    void s5_19_anUlimitOverrideFails() {
        assertStatus(FAIL, "5.19", f -> f.ulimits = List.of("nofile=1048576:1048576"), "Ulimits=[nofile=1048576:1048576]");
    }

    @Test
    void s5_20_sharedMountPropagationFails() {
        assertStatus(FAIL, "5.20", f -> f.mounts.add(new ContainerFacts.Mount("bind", "/srv/x", "/x", false, "rshared")),
                "/srv/x → /x (ro, rshared)");
        assertStatus(FAIL, "5.20", f -> f.mounts.add(new ContainerFacts.Mount("bind", "/srv/x", "/x", false, "shared")), "shared)");
    }

    @Test
    void s5_21_theHostUtsNamespaceFails() {
        assertStatus(FAIL, "5.21", f -> f.uts = "host", "UTSMode=host");
    }

    @Test
    void s5_22_disabledSeccompFails() {
        assertStatus(FAIL, "5.22", f -> f.securityOpt = List.of("no-new-privileges", "seccomp=unconfined"), "seccomp=unconfined");
        assertStatus(FAIL, "5.22", f -> f.securityOpt = List.of("seccomp:unconfined"), "seccomp:unconfined");
        assertStatus(FAIL, "5.22", f -> f.privileged = true, "without seccomp");
        assertStatus(FAIL, "5.22", f -> {
            f.securityOpt = List.of("no-new-privileges");
            f.engineSecurityOptions = List.of("name=seccomp,profile=unconfined");
        }, "the engine's default is unconfined");
        assertStatus(CANNOT_PASS_ON_HOST, "5.22", f -> f.engineSecurityOptions = List.of(), "lists no seccomp");
        // No option at all is the engine's default profile: not disabled.
        assertStatus(PASS, "5.22", f -> f.securityOpt = List.of("no-new-privileges"), "the engine's profile applies");
    }

    @Test
    void s5_23_and_5_24_execCannotBeJudgedFromInspectAndSaySo() {
        assertStatus(NOT_APPLICABLE, "5.23", f -> { }, "ExecIDs=[] at inspect");
        assertStatus(NOT_APPLICABLE, "5.24", f -> f.execIds = List.of("3e1f"), "ExecIDs=[3e1f]");
        assertStatus(NOT_APPLICABLE, "5.24", f -> f.execIds = List.of("3e1f"), "someone else started exec sessions");
    }

    @Test
    void s5_25_aCgroupParentOfItsOwnFails() {
        assertStatus(FAIL, "5.25", f -> f.cgroupParent = "/somewhere", "CgroupParent=/somewhere");
    }

    @Test
    void s5_26_withoutNoNewPrivilegesFails() {
        assertStatus(FAIL, "5.26", f -> f.securityOpt = List.of("seccomp=" + JobFacts.PROFILE), "has no no-new-privileges");
        assertStatus(FAIL, "5.26", f -> f.securityOpt = List.of("no-new-privileges:false"), "turns no-new-privileges off");
        assertStatus(PASS, "5.26", f -> f.securityOpt = List.of("no-new-privileges:true"), "no-new-privileges:true");
    }

    @Test
    void s5_27_aBatchJobHasNoServiceToHealthCheck() {
        assertStatus(NOT_APPLICABLE, "5.27", f -> { }, "batch process");
        assertStatus(NOT_APPLICABLE, "5.27", f -> f.healthcheck = List.of("NONE"), "Config.Healthcheck=[NONE]");
        assertStatus(PASS, "5.27", f -> f.healthcheck = List.of("CMD-SHELL", "true"), "Test=[CMD-SHELL, true]");
    }

    @Test
    void s5_28_aMutableTagFails() {
        assertStatus(FAIL, "5.28", f -> f.image = "cloister/trainer-base:bookworm", "mutable reference");
        assertStatus(NOT_APPLICABLE, "5.28", f -> f.image = "cloister/trainer-base@" + JobFacts.IMAGE_ID, "content address");
    }

    @Test
    void s5_29_noPidsLimitFails() {
        assertStatus(FAIL, "5.29", f -> f.pidsLimit = null, "PidsLimit=null");
        assertStatus(FAIL, "5.29", f -> f.pidsLimit = 0L, "PidsLimit=0");
        assertStatus(FAIL, "5.29", f -> f.pidsLimit = -1L, "PidsLimit=-1");
    }

    @Test
    void s5_30_theDefaultBridgeFails() {
        assertStatus(FAIL, "5.30", f -> {
            f.network = "default";
            f.networks = List.of("bridge");
        }, "NetworkMode=default");
        assertStatus(FAIL, "5.30", f -> {
            f.network = "bridge";
            f.networks = List.of("bridge");
        }, "docker0");
    }

    @Test
    void s5_31_theHostUserNamespaceFails() {
        assertStatus(FAIL, "5.31", f -> f.userns = "host", "UsernsMode=host");
        assertStatus(PASS, "5.31", f -> { }, "does not remap users");
    }

    @Test
    void s5_32_theDockerSocketFails() {
        assertStatus(FAIL, "5.32", f -> f.mounts.add(JobFacts.bind("/var/run/docker.sock", "/var/run/docker.sock", true)),
                "/var/run/docker.sock → /var/run/docker.sock");
        assertStatus(FAIL, "5.32", f -> f.mounts.add(JobFacts.bind("/run", "/hostrun", false)), "bind /run → /hostrun");
        assertStatus(FAIL, "5.32", f -> f.mounts.add(JobFacts.bind("/srv/d.sock", "/docker.sock", false)), "/docker.sock");
    }

    // --------------------------------------------------------------------------------------------------- helpers

    private CisResult result(JobFacts f, String id) {
        return benchmark.evaluate(f.build()).stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow();
    }

    private void assertStatus(Status expected, String id, Consumer<JobFacts> change, String evidenceFragment) {
        JobFacts f = new JobFacts();
        change.accept(f);
        CisResult r = result(f, id);
        assertEquals(expected, r.status(), () -> id + ": " + r.evidence());
        assertTrue(r.evidence().contains(evidenceFragment), () -> id + " evidence lacks '" + evidenceFragment + "': " + r.evidence());
    }

    private static JobFacts appArmorHost(JobFacts f) {
        f.engineSecurityOptions = List.of("name=apparmor", "name=seccomp,profile=default");
        return f;
    }

    private static JobFacts selinuxHost(JobFacts f) {
        f.engineSecurityOptions = List.of("name=seccomp,profile=default", "name=selinux");
        return f;
    }
}
