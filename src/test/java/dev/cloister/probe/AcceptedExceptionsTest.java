package dev.cloister.probe;

import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.PolicyException;
import dev.cloister.policy.PolicyReader;
import dev.cloister.policy.Violation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code acceptedExceptions} in policies: parsed strictly, every problem named by its field. No Docker needed. */
class AcceptedExceptionsTest {

    private final PolicyReader reader = new PolicyReader(Path.of("seccomp-profiles"));

    private Policy read(String yaml) {
        return reader.read("test.yaml", "test", ("name: test\n" + yaml).getBytes(StandardCharsets.UTF_8));
    }

    private List<String> problems(String yaml) {
        PolicyException e = assertThrows(PolicyException.class, () -> read(yaml));
        return e.violations().stream().map(Violation::toString).toList();
    }

    @Test
    void absentOrEmptyListMeansNone() {
        assertEquals(List.of(), read("").acceptedExceptions());
        assertEquals(List.of(), read("acceptedExceptions: []\n").acceptedExceptions());
    }

    @Test
    void entriesAreReadInOrderWithTheirReasons() {
        Policy p = read("""
                acceptedExceptions:
                  - probe: device_nodes
                    reason: "  the Sentry's own devices  "
                  - {probe: scratch_exec, reason: gofer mount}
                """);
        assertEquals(List.of(new Policy.AcceptedException("device_nodes", "the Sentry's own devices"),
                new Policy.AcceptedException("scratch_exec", "gofer mount")), p.acceptedExceptions());
        assertTrue(p.acceptedException("scratch_exec").isPresent());
        assertTrue(p.acceptedException("io_uring").isEmpty());
    }

    @Test
    void everyBadEntryIsNamedByItsField() {
        List<String> p = problems("""
                acceptedExceptions:
                  - probe: io_uring
                  - probe: io_uring
                    reason: twice
                  - probe: Not-A-Probe
                    reason: x
                  - reason: no probe
                  - probe: bpf
                    reason: "   "
                  - probe: mount
                    reason: fine
                    expires: 2030-01-01
                  - just a string
                  - probe: 7
                    reason: [not, text]
                """);
        List<String> expected = List.of(
                "acceptedExceptions[0].reason:",
                "acceptedExceptions[2].probe:",
                "acceptedExceptions[3].probe:",
                "acceptedExceptions[4].reason:",
                "acceptedExceptions[5].expires:",
                "acceptedExceptions[6]:",
                "acceptedExceptions[7].probe:",
                "acceptedExceptions[7].reason:");
        for (String prefix : expected) {
            assertTrue(p.stream().anyMatch(s -> s.startsWith(prefix)), prefix + " in " + p);
        }
        assertTrue(p.stream().anyMatch(s -> s.startsWith("acceptedExceptions[0].reason:") && s.contains("required")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("acceptedExceptions[1].probe:") && s.contains("twice")), p.toString());
        assertTrue(p.stream().anyMatch(s -> s.startsWith("acceptedExceptions[5].expires:") && s.contains("unknown")), p.toString());
        assertEquals(9, p.size(), p.toString());
    }

    @Test
    void wrongShapesAreViolations() {
        assertTrue(problems("acceptedExceptions: io_uring\n").stream()
                .anyMatch(s -> s.startsWith("acceptedExceptions:") && s.contains("list")));
        assertTrue(problems("acceptedExceptions:\n").stream()
                .anyMatch(s -> s.startsWith("acceptedExceptions:") && s.contains("empty")));
        assertTrue(problems("acceptedException: []\n").stream()
                .anyMatch(s -> s.startsWith("acceptedException:") && s.contains("unknown")), "a misspelt key");
    }

    @Test
    void shippedPoliciesGiveAReasonForEveryException() {
        Policies policies = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted");
        for (String name : List.of("restricted", "strict")) {
            Policy p = policies.find(name).orElseThrow();
            assertTrue(p.allowedImageRepositories().contains("cloister/probe"), name + " admits the probe image");
            for (Policy.AcceptedException e : p.acceptedExceptions()) {
                assertTrue(e.reason().length() > 40, name + ": " + e.probe() + " has a real reason");
            }
        }
    }
}
