package dev.cloister.policy;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyReaderTest {

    private final PolicyReader reader = new PolicyReader(Path.of("seccomp-profiles"));

    private Policy read(String yaml) {
        return reader.read("test.yaml", "test", yaml.getBytes(StandardCharsets.UTF_8));
    }

    private List<String> problems(String yaml) {
        PolicyException e = assertThrows(PolicyException.class, () -> read(yaml));
        assertTrue(e.getMessage().contains("test.yaml"), "message names the file: " + e.getMessage());
        return e.violations().stream().map(Violation::toString).toList();
    }

    @Test
    void shippedPoliciesLoad() {
        Policies policies = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted");
        Policy restricted = policies.find("restricted").orElseThrow();
        assertEquals(ContainerRuntime.RUNC, restricted.runtime());
        assertEquals("training.json", restricted.seccomp().name());
        assertEquals(ContainerRuntime.RUNSC, policies.find("strict").orElseThrow().runtime());
        assertEquals(restricted, policies.defaultPolicy());
    }

    @Test
    void teamsMustBeTeamNames() {
        PolicyException e = assertThrows(PolicyException.class, () -> read("name: test\nteams: [ok, \"Bad Team\", ../x]\n"));
        assertEquals(2, e.violations().stream().filter(v -> v.field().equals("teams")).count(), e.violations().toString());
        assertEquals(List.of("a", "b-c"), read("name: test\nteams: [a, b-c]\n").teams());
    }

    @Test
    void missingFieldsTakeTheSaferValue() {
        Policy p = read("name: test\n");
        assertEquals(ContainerRuntime.RUNSC, p.runtime(), "gVisor when no runtime is named");
        assertEquals(new UserId(65534, 65534), p.user(), "nobody when no user is named");
        assertEquals("training.json", p.seccomp().name());
        assertEquals(List.of(), p.allowedImageRepositories(), "no image allowed by default");
        assertEquals(List.of(), p.allowedDatasets(), "no dataset allowed by default");
        assertEquals(List.of(), p.teams(), "no team may use a policy that names none");
        assertEquals(128, p.limits().pids());
        assertEquals(Duration.ofMinutes(10), p.limits().maxRuntime());
        assertTrue(p.readOnlyRootfs());
    }

    @Test
    void digestIsOfTheExactBytes() {
        Policy a = read("name: test\n");
        Policy b = read("name: test\n# a comment\n");
        assertTrue(!a.digest().equals(b.digest()), "any byte change changes the recorded digest");
    }

    @Test
    void weakPolicyIsRejectedWithEveryReason() {
        List<String> p = problems("""
                name: test
                runtime: runc
                network: bridge
                seccompProfile: unconfined
                user: "0:0"
                readOnlyRootfs: false
                privileged: true
                limits:
                  pids: 0
                """);
        assertTrue(p.stream().anyMatch(s -> s.startsWith("network:")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("seccompProfile:") && s.contains("unconfined")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("user:") && s.contains("root")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("readOnlyRootfs:")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("privileged:") && s.contains("never")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("limits.pids:")), p.toString());
        assertEquals(6, p.size(), p.toString());
    }

    @Test
    void unknownKeysAndWrongTypesNameTheirField() {
        List<String> p = problems("""
                name: test
                runtme: runc
                limits:
                  memory: [1, 2]
                  cpus: "lots"
                  swap: 1g
                images:
                  allowedRepositories: "cloister/trainer-base"
                """);
        assertTrue(p.contains("runtme: unknown field"), p.toString());
        assertTrue(p.contains("limits.swap: unknown field"), p.toString());
        assertTrue(p.contains("limits.memory: must be a string or a number"), p.toString());
        assertTrue(p.contains("limits.cpus: must be a number"), p.toString());
        assertTrue(p.contains("images.allowedRepositories: must be a list of strings"), p.toString());
    }

    @Test
    void nameMustMatchFile() {
        assertTrue(problems("name: other\n").contains("name: must match the file name 'test'"));
    }

    @Test
    void seccompProfileMustExistAndDenyByDefault() {
        assertTrue(problems("name: test\nseccompProfile: nope.json\n").stream()
                .anyMatch(s -> s.contains("not found")));
        assertTrue(problems("name: test\nseccompProfile: ../etc/passwd\n").stream()
                .anyMatch(s -> s.startsWith("seccompProfile: must be the file name")));
    }

    @Test
    void imageRepositoriesMustBeBareNames() {
        assertTrue(problems("name: test\nimages:\n  allowedRepositories: [\"cloister/x:latest\"]\n").stream()
                .anyMatch(s -> s.startsWith("images.allowedRepositories[0]")));
    }

    @Test
    void scratchCannotExceedMemory() {
        assertTrue(problems("name: test\nlimits:\n  memory: 64m\nscratch:\n  tmp: 1g\n").stream()
                .anyMatch(s -> s.startsWith("scratch.tmp")));
    }

    @Test
    void malformedYamlNamesTheLine() {
        List<String> p = problems("name: test\nlimits: [\n");
        assertTrue(p.get(0).contains("not valid YAML"), p.toString());
    }

    @Test
    void loadingADirectoryReportsEveryBadFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        java.nio.file.Files.writeString(dir.resolve("a.yaml"), "name: a\nuser: root\n");
        java.nio.file.Files.writeString(dir.resolve("b.yaml"), "name: b\nnetwork: host\n");
        PolicyException e = assertThrows(PolicyException.class,
                () -> Policies.load(dir, Path.of("seccomp-profiles"), "a"));
        assertTrue(e.getMessage().contains("a.yaml") && e.getMessage().contains("b.yaml"), e.getMessage());
    }
}
