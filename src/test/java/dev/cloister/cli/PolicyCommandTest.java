package dev.cloister.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code cloister policy lint} and {@code policy diff} as a reviewer runs them, on files. No Docker needed. */
class PolicyCommandTest {

    @TempDir
    Path dir;


    @Test
    void shippedPoliciesLintClean() {
        CliRun r = CliRun.of("policy", "lint", "policies/restricted.yaml", "policies/strict.yaml");
        assertEquals(0, r.exitCode(), r.out());
        assertTrue(r.out().contains("policies/restricted.yaml: valid (policy restricted, sha256:"), r.out());
        assertTrue(r.out().contains("policies/strict.yaml: valid (policy strict, sha256:"), r.out());
    }

    @Test
    void weakPolicyIsRejectedWithEveryReason() throws IOException {
        Path weak = dir.resolve("weak.yaml");
        Files.writeString(weak, """
                name: weak
                runtime: runc
                seccompProfile: unconfined
                user: "0:0"
                readOnlyRootfs: false
                network: host
                privileged: true
                capabilities: [SYS_ADMIN]
                limits:
                  pids: 0
                """);
        CliRun r = CliRun.of("policy", "lint", weak.toString());
        assertEquals(1, r.exitCode(), r.out());
        assertTrue(r.out().contains("weak.yaml: INVALID, 7 problem(s)"), r.out());
        for (String reason : List.of(
                "  - network: must be 'none': training jobs never get a network",
                "  - seccompProfile: 'unconfined' is never allowed",
                "  - user: jobs never run as root",
                "  - readOnlyRootfs: must be true",
                "  - privileged: privileged containers are never allowed",
                "  - capabilities: capabilities are always dropped",
                "  - limits.pids: must be between 8 and")) {
            assertTrue(r.out().contains(reason), "missing '" + reason + "' in:\n" + r.out());
        }
    }

    @Test
    void lintNamesEveryInvalidFileAndStillChecksTheRest() throws IOException {
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, "name: broken\nlimits: {memory: [\n");
        CliRun r = CliRun.of("policy", "lint", broken.toString(), "policies/restricted.yaml");
        assertEquals(1, r.exitCode(), r.out());
        assertTrue(r.out().contains("broken.yaml: INVALID, 1 problem(s)\n  - (document): not valid YAML at line"), r.out());
        assertTrue(r.out().contains("policies/restricted.yaml: valid"), r.out());
    }

    @Test
    void diffOfALoosenedPolicyExitsThreeAndListsLooseningFirst() throws IOException {
        Path loosened = dir.resolve("restricted.yaml");
        Files.writeString(loosened, Files.readString(Path.of("policies/restricted.yaml"))
                .replace("memory: 2g", "memory: 8g").replace("logSize: 8m", "logSize: 1m"));
        CliRun r = CliRun.of("policy", "diff", "policies/restricted.yaml", loosened.toString());
        assertEquals(3, r.exitCode(), r.out());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].endsWith(": 1 loosening, 0 neither, 1 tightening"), r.out());
        assertTrue(lines[1].matches("\\s+LOOSENS\\s+limits\\.memory\\s+2g -> 8g"), r.out());
        assertTrue(lines[3].matches("\\s+TIGHTENS\\s+limits\\.logSize\\s+8m -> 1m"), r.out());

        CliRun same = CliRun.of("policy", "diff", "policies/restricted.yaml", "policies/restricted.yaml");
        assertEquals(0, same.exitCode(), same.out());
        assertTrue(same.out().contains("0 loosening, 0 neither, 0 tightening"), same.out());
    }
}
