package dev.cloister.cis;

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
        md.append("Container ").append(escape(container)).append(", image ").append(escape(image)).append(", on ")
                .append(escape(engine)).append(".\n");
        md.append("Judged from `docker inspect` of the container and `docker info` of its engine only:")
                .append(" nothing was run inside the container.\n\n");
        md.append(counts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                .collect(Collectors.joining(" · ", "**", "**"))).append("\n\n");
        md.append("| id | title | status | evidence |\n|---|---|---|---|\n");
        for (CisResult r : results) {
            String status = r.status() == CisResult.Status.FAIL ? "**FAIL**" : r.status().name();
            md.append("| ").append(escape(r.id())).append(" | ").append(escape(r.title())).append(" | ").append(status)
                    .append(" | ").append(escape(r.evidence())).append(" |\n");
        }
        return md.toString();
    }

    // Table cells are one line; Markdown's own characters are escaped so that evidence (JSON sizes in <...>,
    // CAP_NAMES, paths) shows as text and a | cannot open a new cell.
    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (char c : text.replace("\r", " ").replace("\n", " ").toCharArray()) {
            if ("\\`*_|[]<>#".indexOf(c) >= 0) {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }
}
