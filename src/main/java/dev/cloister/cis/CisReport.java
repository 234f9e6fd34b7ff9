package dev.cloister.cis;

import dev.cloister.markdown.MarkdownTable;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The section-5 results of one container, with what identifies the container and its engine, rendered as Markdown
 * for reviewers.
 *
 * @param container the container's name and ID
 * @param image     the reference it was created from
 * @param engine    the engine's version and kernel
 */
public record CisReport(String container, String image, String engine, List<CisResult> results) {

    public CisReport {
        results = List.copyOf(results);
    }

    /** The report of {@code results}, the evaluation of {@code facts}. */
    public static CisReport of(ContainerFacts facts, List<CisResult> results) {
        String id = facts.id().length() > 12 ? facts.id().substring(0, 12) : facts.id();
        return new CisReport(facts.name().isEmpty() ? id : facts.name() + " (" + id + ")", facts.image(),
                "Docker " + facts.engine().serverVersion() + ", kernel " + facts.engine().kernelVersion(), results);
    }

    /** How many results have each status, every status listed, in the enum's order. */
    public Map<CisResult.Status, Long> counts() {
        Map<CisResult.Status, Long> counts = new EnumMap<>(CisResult.Status.class);
        for (CisResult.Status s : CisResult.Status.values()) {
            counts.put(s, results.stream().filter(r -> r.status() == s).count());
        }
        return counts;
    }

    /** The results that failed. */
    public List<CisResult> failures() {
        return results.stream().filter(r -> r.status() == CisResult.Status.FAIL).toList();
    }

    /** A heading, what was inspected, the counts, and a table {@code id | title | status | evidence}. */
    public String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("## ").append(CisItem.BENCHMARK).append("\n\n");
        md.append("Container ").append(MarkdownTable.escape(container)).append(", image ").append(MarkdownTable.escape(image)).append(", on ")
                .append(MarkdownTable.escape(engine)).append(".\n");
        md.append("Judged from `docker inspect` of the container and `docker info` of its engine only:")
                .append(" nothing was run inside the container.\n\n");
        md.append(counts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                .collect(Collectors.joining(" · ", "**", "**"))).append("\n\n");
        MarkdownTable table = new MarkdownTable("id", "title", "status", "evidence");
        for (CisResult r : results) {
            table.row(2, r.status() == CisResult.Status.FAIL, r.id(), r.title(), r.status().name(), r.evidence());
        }
        md.append(table.render());
        return md.toString();
    }
}
