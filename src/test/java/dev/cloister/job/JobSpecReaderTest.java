package dev.cloister.job;

import dev.cloister.policy.Violation;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobSpecReaderTest {

    private final JobSpecReader reader = new JobSpecReader(4096);

    private JobSpecReader.Parsed json(String s) throws MalformedSpecException {
        return reader.parse(s.getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.JSON);
    }

    private JobSpecReader.Parsed yaml(String s) throws MalformedSpecException {
        return reader.parse(s.getBytes(StandardCharsets.UTF_8), JobSpecReader.Format.YAML);
    }

    private static List<String> fields(JobSpecReader.Parsed p) {
        return p.violations().stream().map(Violation::field).toList();
    }

    @Test
    void readsAFullYamlSpec() throws Exception {
        JobSpecReader.Parsed p = yaml("""
                name: bc
                team: oncology
                policy: restricted
                image: cloister/trainer-base@sha256:%s
                command: [python3, train.py]
                env: {MODE: fast}
                hyperparameters: {epochs: 30, learning_rate: 0.1, shuffle: true, optimizer: sgd}
                dataset: breast-cancer
                resources: {memory: 1g, cpus: 0.5, pids: 64}
                maxRuntime: 5m
                """.formatted("a".repeat(64)));
        assertEquals(List.of(), p.violations());
        JobSpec s = p.spec();
        assertEquals("bc", s.name());
        assertEquals(List.of("python3", "train.py"), s.command());
        assertEquals(Map.of("MODE", "fast"), s.env());
        assertEquals(30L, s.hyperparameters().get("epochs"));
        assertEquals(0.1, s.hyperparameters().get("learning_rate"));
        assertEquals(true, s.hyperparameters().get("shuffle"));
        assertEquals(1L << 30, s.resources().memory().bytes());
        assertEquals(64L, s.resources().pids());
    }

    @Test
    void hostAccessFieldsAreRefusedByNameWithAReason() throws Exception {
        JobSpecReader.Parsed p = json("""
                {"name":"x","team":"t","image":"a@sha256:%s","command":["true"],
                 "privileged":true,"network":"host","volumes":["/:/host"],"capAdd":["SYS_ADMIN"],
                 "user":"0:0","devices":["/dev/sda"],"hostPid":true,"resources":{"privileged":true}}
                """.formatted("b".repeat(64)));
        List<String> f = fields(p);
        for (String key : List.of("privileged", "network", "volumes", "capAdd", "user", "devices", "hostPid",
                "resources.privileged")) {
            assertTrue(f.contains(key), key + " refused: " + p.violations());
        }
        assertTrue(p.violations().stream().noneMatch(v -> v.reason().equals("unknown field")), p.violations().toString());
    }

    @Test
    void unknownFieldIsRefused() throws Exception {
        JobSpecReader.Parsed p = json("{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":[\"a\"],\"colour\":1}");
        assertTrue(p.violations().contains(new Violation("colour", "unknown field")), p.violations().toString());
    }

    @Test
    void everyMissingRequiredFieldIsReported() throws Exception {
        assertEquals(List.of("name", "team", "image", "command"), fields(json("{}")));
    }

    @Test
    void datasetPathsAndTraversalAreRefused() throws Exception {
        for (String d : List.of("../etc", "/etc/shadow", "a/b", "..")) {
            JobSpecReader.Parsed p = json("{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":[\"a\"],\"dataset\":\"" + d + "\"}");
            assertTrue(p.violations().stream().anyMatch(v -> v.field().equals("dataset") && v.reason().contains("not a path")),
                    d + ": " + p.violations());
        }
    }

    @Test
    void reservedEnvironmentIsRefused() throws Exception {
        JobSpecReader.Parsed p = json("{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":[\"a\"],"
                + "\"env\":{\"LD_PRELOAD\":\"/x.so\",\"SM_MODEL_DIR\":\"/\",\"PATH\":\"/tmp\",\"OK\":\"1\"}}");
        assertEquals(List.of("env.LD_PRELOAD", "env.SM_MODEL_DIR", "env.PATH"), fields(p));
        assertEquals(Map.of("OK", "1"), p.spec().env());
    }

    @Test
    void determinismAidsCannotBeUnpinnedByTheSpec() throws Exception {
        JobSpecReader.Parsed p = json("{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":[\"a\"],"
                + "\"env\":{\"PYTHONHASHSEED\":\"random\",\"SOURCE_DATE_EPOCH\":\"1\",\"OMP_NUM_THREADS\":\"64\","
                + "\"CLOISTER_SEED\":\"7\"}}");
        assertEquals(List.of("env.PYTHONHASHSEED", "env.SOURCE_DATE_EPOCH", "env.OMP_NUM_THREADS", "env.CLOISTER_SEED"),
                fields(p));
    }

    @Test
    void seedIsAnUnsigned32BitInteger() throws Exception {
        String base = "{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":[\"a\"],\"seed\":";
        assertEquals(42L, json(base + "42}").spec().seed());
        assertEquals(JobSpec.MAX_SEED, json(base + JobSpec.MAX_SEED + "}").spec().seed());
        assertEquals(List.of("seed"), fields(json(base + "-1}")));
        assertEquals(List.of("seed"), fields(json(base + (JobSpec.MAX_SEED + 1) + "}")));
        assertEquals(List.of("seed"), fields(json(base + "\"forty-two\"}")));
        assertEquals(null, json(base.replace(",\"seed\":", "") + "}").spec().seed());
    }

    @Test
    void wrongTypesNameTheirField() throws Exception {
        JobSpecReader.Parsed p = json("{\"name\":\"x\",\"team\":\"t\",\"image\":\"i\",\"command\":\"python3 x\","
                + "\"hyperparameters\":{\"nested\":{\"a\":1}},\"resources\":{\"cpus\":\"two\"}}");
        assertTrue(fields(p).containsAll(List.of("command", "hyperparameters.nested", "resources.cpus")), p.violations().toString());
    }

    @Test
    void malformedDocumentsAreA400NotAViolationList() {
        MalformedSpecException e = assertThrows(MalformedSpecException.class, () -> json("{\"name\": "));
        assertTrue(e.getMessage().startsWith("not valid JSON"), e.getMessage());
        assertThrows(MalformedSpecException.class, () -> yaml("name: [unclosed\n"));
        assertThrows(MalformedSpecException.class, () -> json("{\"name\":\"a\",\"name\":\"b\"}"), "duplicate keys");
        assertThrows(MalformedSpecException.class, () -> json(""));
    }

    @Test
    void yamlAliasBombIsNotExpanded() throws Exception {
        StringBuilder y = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (char c = 'b'; c <= 'k'; c++) {
            char prev = (char) (c - 1);
            y.append(c).append(": &").append(c).append(" [*").append(prev).append(", *").append(prev)
                    .append(", *").append(prev).append("]\n");
        }
        // Jackson reads YAML events without composing aliases, so 3^10 references never materialise.
        JobSpecReader.Parsed p = yaml(y.toString());
        assertTrue(p.document().toString().length() < 10_000, "aliases were expanded");
        assertTrue(fields(p).contains("k"), "the bomb's keys are still refused as unknown fields");
    }

    @Test
    void oversizedBodyIsMarkedTooLarge() {
        byte[] big = new byte[5000];
        MalformedSpecException e = assertThrows(MalformedSpecException.class,
                () -> reader.readCapped(new ByteArrayInputStream(big)));
        assertTrue(e.tooLarge());
    }
}
