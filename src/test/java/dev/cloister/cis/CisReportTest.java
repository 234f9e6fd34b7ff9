package dev.cloister.cis;

import dev.cloister.cis.CisResult.Status;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CisReportTest {

    @Test
    void rendersOneTableRowPerItemWithCounts() {
        ContainerFacts facts = new JobFacts().build();
        CisReport report = CisReport.of(facts, new CisBenchmark().evaluate(facts));

        String md = report.markdown();

        assertTrue(md.startsWith("## CIS Docker Benchmark v1.6.0, section 5 (Container Runtime Configuration)\n"), md);
        assertTrue(md.contains("Container cloister-j-0123 (5f0c1e2d3b4a), image sha256:c576812a"), md);
        assertTrue(md.contains("\n**26 PASS · 0 FAIL · 5 NOT_APPLICABLE · 1 CANNOT_PASS_ON_HOST**\n"), md);
        assertTrue(md.contains("| id | title | status | evidence |\n|---|---|---|---|\n"), md);
        assertEquals(32, md.lines().filter(l -> l.startsWith("| 5.")).count(), md);
        assertTrue(md.contains("| 5.2 | Ensure that, if applicable, an AppArmor Profile is enabled | CANNOT_PASS_ON_HOST | "), md);
        assertEquals(Map.of(Status.PASS, 26L, Status.FAIL, 0L, Status.NOT_APPLICABLE, 5L, Status.CANNOT_PASS_ON_HOST, 1L),
                report.counts());
        assertEquals(List.of(), report.failures());
    }

    @Test
    void aFailureIsBoldAndEvidenceCannotBreakTheTable() {
        CisResult failed = new CisResult("5.32", "Ensure that the Docker socket is not mounted inside any containers",
                Status.FAIL, "Mounts [bind /a|b → /x_y (rw)]\nsecond line <b>");
        CisReport report = new CisReport("c", "i", "Docker 20.10", List.of(failed));

        String row = report.markdown().lines().filter(l -> l.startsWith("| 5.32")).findFirst().orElseThrow();

        assertEquals("| 5.32 | Ensure that the Docker socket is not mounted inside any containers | **FAIL** | "
                + "Mounts \\[bind /a\\|b → /x_y (rw)\\] second line \\<b\\> |", row);
        assertEquals(List.of(failed), report.failures());
    }
}
