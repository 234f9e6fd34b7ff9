package dev.cloister.federation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cloister.job.JobSpecReader;
import dev.cloister.job.MalformedSpecException;
import dev.cloister.policy.Violation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Federation specs: the example reads cleanly; a bad one is refused with every violation at once. */
class FederationSpecReaderTest {

    private final JobSpecReader jobs = new JobSpecReader(65536);
    private final FederationSpecReader reader = new FederationSpecReader(jobs);

    private FederationSpecReader.Parsed read(String yaml) throws MalformedSpecException {
        JsonNode root = jobs.readTree(yaml.getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.YAML);
        return reader.read(root);
    }

    @Test
    void theExampleSpecReads() throws Exception {
        FederationSpecReader.Parsed p = read(Files.readString(Path.of("deploy/examples/federated/federation.yaml")));
        assertEquals(List.of(), p.violations());
        FederationSpec s = p.spec();
        assertEquals(3, s.rounds());
        assertEquals(2, s.quorum());
        assertEquals(List.of("site-a", "site-b", "site-c"), s.sites().stream().map(FederationSpec.Site::name).toList());
        assertEquals("fed-site-b", s.sites().get(1).job().dataset());
        assertEquals("oncology-b", s.sites().get(1).job().team());
        assertEquals(java.time.Duration.ofMinutes(2), s.sites().get(0).job().maxRuntime());
        assertEquals("fedavg", s.aggregation().describe());
        assertEquals(4, s.model().size());
        assertEquals("fed-heldout", s.evaluation().dataset());
    }

    @Test
    void everyViolationIsReported() throws Exception {
        FederationSpecReader.Parsed p = read("""
                name: Bad Name
                image: cloister/example-federated:latest
                command: [python3]
                rounds: 0
                quorum: 5
                roundDeadline: 2m
                aggregation: {rule: mean}
                clipNorm: -1
                model: {arrays: {w: [0], '../x': [1]}}
                network: bridge
                sites:
                  - {name: a, team: t, dataset: ../etc, policy: federated}
                  - {name: a, team: t, dataset: d, policy: federated, env: {LD_PRELOAD: x}, volumes: [/:/host]}
                """);
        assertNull(p.spec());
        List<String> fields = p.violations().stream().map(Violation::field).toList();
        for (String f : List.of("name", "image", "rounds", "quorum", "aggregation.rule", "clipNorm",
                "model.arrays.w", "model.arrays.../x", "network", "sites[0].dataset", "sites[1].name",
                "sites[1].env.LD_PRELOAD", "sites[1].volumes")) {
            assertTrue(fields.contains(f), f + " not in " + p.violations());
        }
        assertTrue(p.violations().contains(new Violation("network", "sites never get a network")));
        assertTrue(p.violations().contains(new Violation("quorum", "5 is more than the 2 site(s)")));
    }

    @Test
    void requiredFieldsAreNamed() throws Exception {
        FederationSpecReader.Parsed p = read("name: x\n");
        List<String> fields = p.violations().stream().map(Violation::field).toList();
        assertEquals(List.of("image", "command", "rounds", "roundDeadline", "model.arrays", "sites", "quorum"),
                fields.stream().filter(f -> !f.equals("(document)")).toList());
    }
}
