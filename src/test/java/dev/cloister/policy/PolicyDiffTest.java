package dev.cloister.policy;

import dev.cloister.dataset.SigstoreVectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PolicyDiff} over the shipped policies and loosened copies of them. No Docker needed. */
class PolicyDiffTest {

    @TempDir
    Path policiesDir;

    private PolicyReader reader;

    @BeforeEach
    void trustedRootBesideThePolicies() throws IOException {
        Files.createDirectories(policiesDir.resolve("trusted-roots"));
        Files.copy(SigstoreVectors.trustedRootFile(), policiesDir.resolve("trusted-roots/public-good.json"));
        reader = new PolicyReader(Path.of("seccomp-profiles"), policiesDir);
    }

    private Policy shipped(String name) {
        return reader.read(Path.of("policies", name + ".yaml"));
    }

    private Policy edited(String name, String... replacements) throws IOException {
        String text = Files.readString(Path.of("policies", name + ".yaml"));
        for (int i = 0; i < replacements.length; i += 2) {
            String before = text;
            text = text.replace(replacements[i], replacements[i + 1]);
            assertTrue(!text.equals(before), "the shipped policy no longer contains '" + replacements[i] + "'");
        }
        return reader.read("edited", name, text.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> fields(List<PolicyDiff.Change> changes) {
        return changes.stream().map(PolicyDiff.Change::field).toList();
    }

    @Test
    void samePolicyHasNoChanges() {
        PolicyDiff d = PolicyDiff.between(shipped("restricted"), shipped("restricted"));
        assertEquals(List.of(), d.changes());
        assertTrue(d.markdown().contains("No effective change"));
    }

    @Test
    void loosenedButValidPolicyShowsEveryLooseningFirst() throws IOException {
        Policy before = shipped("restricted");
        Policy after = edited("restricted",
                "memory: 2g", "memory: 8g",
                "pids: 256", "pids: 1024",
                "    - cloister/probe", "    - cloister/probe\n    - cloister/anything",
                "seccompProfile: training.json", "seccompProfile: docker-default.json",
                "acceptedExceptions: []", "acceptedExceptions: [{probe: net_icmp_ping, reason: measured}]",
                "logSize: 8m", "logSize: 1m");
        PolicyDiff d = PolicyDiff.between(before, after);

        List<PolicyDiff.Change> loosening = d.loosening();
        assertTrue(fields(loosening).containsAll(List.of("limits.memory", "limits.pids", "images.allowedRepositories",
                "seccompProfile", "acceptedExceptions")), d.toString());
        // Docker's default allows socket(2) for every family: the diff names them.
        assertTrue(loosening.stream().anyMatch(c -> c.field().equals("seccompProfile")
                && c.why().contains("AF_INET") && c.why().contains("AF_NETLINK")), d.toString());
        assertTrue(loosening.stream().anyMatch(c -> c.field().equals("seccompProfile")
                && c.why().contains("now allowed outright") && c.why().contains("ptrace")), d.toString());
        // Loosening first, tightening last.
        assertEquals(PolicyDiff.Direction.LOOSENS, d.changes().get(0).direction());
        PolicyDiff.Change last = d.changes().get(d.changes().size() - 1);
        assertEquals(PolicyDiff.Direction.TIGHTENS, last.direction());
        assertTrue(fields(d.changes().stream().filter(c -> c.direction() == PolicyDiff.Direction.TIGHTENS).toList())
                .contains("limits.logSize"));
        String md = d.markdown();
        assertTrue(md.contains("| **LOOSENS** | limits.memory | 2g | 8g |"), md);
        assertTrue(md.indexOf("LOOSENS") < md.indexOf("TIGHTENS"), md);
    }

    @Test
    void wideningTeamsLoosensAndNarrowingThemTightens() throws IOException {
        Policy before = shipped("restricted");
        Policy wider = edited("restricted", "teams: [examples, test]", "teams: [examples, test, payroll]");
        PolicyDiff.Change added = PolicyDiff.between(before, wider).changes().stream()
                .filter(c -> c.field().equals("teams")).findFirst().orElseThrow();
        assertEquals(PolicyDiff.Direction.LOOSENS, added.direction());
        assertTrue(added.why().contains("payroll"), added.why());
        Policy none = edited("restricted", "teams: [examples, test]", "");
        PolicyDiff.Change removed = PolicyDiff.between(before, none).changes().stream()
                .filter(c -> c.field().equals("teams")).findFirst().orElseThrow();
        assertEquals(PolicyDiff.Direction.TIGHTENS, removed.direction());
        assertTrue(PolicyDiff.between(none, before).loosening().stream().anyMatch(c -> c.field().equals("teams")));
    }

    @Test
    void strictToRestrictedLoosensTheRuntime() {
        PolicyDiff d = PolicyDiff.between(shipped("strict"), shipped("restricted"));
        PolicyDiff.Change runtime = d.changes().stream().filter(c -> c.field().equals("runtime")).findFirst().orElseThrow();
        assertEquals(PolicyDiff.Direction.LOOSENS, runtime.direction());
        assertEquals("runsc", runtime.from());
        assertEquals("runc", runtime.to());
        PolicyDiff back = PolicyDiff.between(shipped("restricted"), shipped("strict"));
        assertEquals(PolicyDiff.Direction.TIGHTENS, back.changes().stream()
                .filter(c -> c.field().equals("runtime")).findFirst().orElseThrow().direction());
    }

    @Test
    void droppingTheDatasetSignatureLoosens() throws IOException {
        Policy before = edited("restricted", "acceptedExceptions: []", """
                acceptedExceptions: []
                requireDatasetSignature:
                  identities: [ci@example.org]
                  issuers: [https://accounts.example.org]
                  trustedRoot: trusted-roots/public-good.json
                """);
        PolicyDiff d = PolicyDiff.between(before, shipped("restricted"));
        assertEquals(List.of("requireDatasetSignature"), fields(d.loosening()));
        assertEquals(PolicyDiff.Direction.TIGHTENS, PolicyDiff.between(shipped("restricted"), before).changes()
                .get(0).direction());
    }
}
