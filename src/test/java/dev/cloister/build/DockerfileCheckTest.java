package dev.cloister.build;

import dev.cloister.policy.Policies;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The build rules a Dockerfile is held to, each refusal with its line and reason. */
class DockerfileCheckTest {

    private static final String BASE = "127.0.0.1:5000/cloister/trainer-base@sha256:" + "a".repeat(64);
    private final Policy restricted = Policies.load(Path.of("policies"), Path.of("seccomp-profiles"), "restricted")
            .find("restricted").orElseThrow();

    private List<Violation> refused(String dockerfile, Map<String, String> args) {
        return assertThrows(BuildException.class, () -> DockerfileCheck.check(dockerfile, args, restricted))
                .violations();
    }

    private static String reasons(List<Violation> v) {
        return v.toString();
    }

    @Test
    void pinnedAllowedBaseAndStagesPass() throws Exception {
        DockerfileCheck.Checked c = DockerfileCheck.check("FROM " + BASE + " AS deps\nRUN true\n"
                + "FROM deps\nCOPY --from=deps /etc/hostname /x\nCOPY --from=0 /etc/hostname /y\n", Map.of(), restricted);
        assertEquals(1, c.bases().size());
        assertEquals(BASE, c.bases().get(0).toString());
    }

    @Test
    void argSubstitutedFromIsResolvedFromTheBuildArgOrItsDefault() throws Exception {
        String dockerfile = "ARG BASE\nFROM ${BASE}\nARG BASE\nCOPY train.py /opt/\n";
        assertEquals(BASE, DockerfileCheck.check(dockerfile, Map.of("BASE", BASE), restricted).bases().get(0).toString());
        assertEquals(BASE, DockerfileCheck.check("ARG B=" + BASE + "\nFROM $B\n", Map.of(), restricted).bases().get(0)
                .toString());
        List<Violation> unset = refused(dockerfile, Map.of());
        assertTrue(reasons(unset).contains("Dockerfile line 2") && reasons(unset).contains("cannot be pinned"),
                reasons(unset));
        assertTrue(reasons(refused("ARG B\nFROM ${B:-x}\n", Map.of("B", BASE))).contains("cannot be pinned"));
    }

    @Test
    void unpinnedOrDisallowedFromIsRefused() {
        assertTrue(reasons(refused("FROM cloister/trainer-base:bookworm\n", Map.of())).contains("is not pinned"));
        assertTrue(reasons(refused("FROM 127.0.0.1:5000/cloister/trainer-base:bookworm@sha256:" + "a".repeat(64) + "\n",
                Map.of())).contains("mixes a tag"));
        List<Violation> other = refused("FROM 127.0.0.1:5000/someone/else@sha256:" + "b".repeat(64) + "\n", Map.of());
        assertTrue(reasons(other).contains("is not allowed by policy 'restricted'"), reasons(other));
        assertTrue(reasons(refused("FROM --platform=linux/amd64 " + BASE + "\n", Map.of())).contains("--platform"));
        assertTrue(reasons(refused("RUN true\n", Map.of())).contains("has no FROM"));
    }

    @Test
    void addOfAUrlIsRefusedInEveryForm() {
        for (String add : List.of("ADD https://example.com/x.whl /opt/", "ADD --chown=1:1 http://10.0.0.1/a /a",
                "ADD [\"ftp://host/x\", \"/x\"]", "ADD git@github.com:org/repo.git /src", "ONBUILD ADD https://e/x /x")) {
            List<Violation> v = refused("FROM " + BASE + "\n" + add + "\n", Map.of());
            assertEquals(1, v.size(), add + ": " + v);
            assertTrue(v.get(0).reason().startsWith("ADD of a URL"), v.toString());
            assertEquals("Dockerfile line 2", v.get(0).field());
        }
    }

    @Test
    void runFlagsAndForeignCopyFromAreRefused() {
        List<Violation> v = refused("FROM " + BASE + "\nRUN --network=host pip install x\n"
                + "RUN --mount=type=cache,target=/c true\nCOPY --from=127.0.0.1:5000/x/y@sha256:" + "c".repeat(64)
                + " /a /b\n", Map.of());
        assertEquals(3, v.size(), v.toString());
        assertTrue(v.get(0).reason().contains("RUN --network is refused: builds never get a network"));
        assertTrue(v.get(1).reason().contains("RUN --mount"));
        assertTrue(v.get(2).reason().contains("names no earlier stage"));
    }

    @Test
    void continuationsAndCommentsAreFollowedToTheRealInstruction() {
        List<Violation> v = refused("# a comment\nFROM " + BASE + "\nRUN echo a \\\n  # inside\n  && true\nADD \\\n"
                + "  https://example.com/x /x\n", Map.of());
        assertEquals(List.of("Dockerfile line 6"), v.stream().map(Violation::field).toList());
    }

    @Test
    void buildArgsMustBeDeclaredAndNeverConfigureAProxy() {
        List<Violation> v = refused("FROM " + BASE + "\nARG EPOCHS=3\n", Map.of("EPOCHS", "5", "UNDECLARED", "x",
                "HTTP_PROXY", "http://proxy:3128"));
        assertEquals(List.of("buildArgs.HTTP_PROXY", "buildArgs.UNDECLARED"),
                v.stream().map(Violation::field).sorted().toList(), v.toString());
    }

    @Test
    void parserDirectivesOtherThanTheDefaultEscapeAreRefused() {
        assertTrue(reasons(refused("# syntax=docker/dockerfile:1\nFROM " + BASE + "\n", Map.of())).contains("syntax"));
        assertTrue(reasons(refused("# escape=`\nFROM " + BASE + "\n", Map.of())).contains("escape"));
    }
}
