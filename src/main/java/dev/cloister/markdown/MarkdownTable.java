package dev.cloister.markdown;

import java.util.ArrayList;
import java.util.List;

/**
 * A GitHub-flavoured Markdown table for reports reviewers sign off (CIS results, policy reports and diffs). Cells are
 * one line and Markdown's own characters are escaped, so that evidence (JSON sizes in {@code <...>}, CAP_NAMES,
 * paths, {@code a|b}) shows as text and can never open a new cell or a link.
 */
public final class MarkdownTable {

    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    public MarkdownTable(String... header) {
        if (header.length == 0) {
            throw new IllegalArgumentException("a table needs at least one column");
        }
        this.header = List.of(header);
    }

    /** Adds a row of plain text; each value is escaped. */
    public MarkdownTable row(String... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, the table " + header.size());
        }
        List<String> escaped = new ArrayList<>();
        for (String c : cells) {
            escaped.add(escape(c == null ? "" : c));
        }
        rows.add(escaped);
        return this;
    }

    /** Adds a row of plain text with cell {@code column} in bold when {@code strong} (a FAIL, a loosening). */
    public MarkdownTable row(int column, boolean strong, String... cells) {
        row(cells);
        List<String> last = rows.get(rows.size() - 1);
        if (strong && !last.get(column).isEmpty()) {
            last.set(column, "**" + last.get(column) + "**");
        }
        return this;
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    /** The table, header first, one line per row, ending with a newline. */
    public String render() {
        StringBuilder md = new StringBuilder("| ").append(String.join(" | ", header)).append(" |\n|");
        md.append("---|".repeat(header.size())).append('\n');
        for (List<String> r : rows) {
            md.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return md.toString();
    }

    /**
     * Escapes text for Markdown prose or a table cell: one line, Markdown's own characters backslashed. An underscore
     * inside a word ({@code AF_UNIX}, {@code CANNOT_PASS_ON_HOST}) is left alone: GitHub-flavoured Markdown never reads
     * it as emphasis, and reviewers also read the raw text.
     */
    public static String escape(String text) {
        String line = text.replace("\r", " ").replace("\n", " ");
        StringBuilder out = new StringBuilder(line.length() + 16);
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            boolean intraword = c == '_' && i > 0 && i < line.length() - 1
                    && Character.isLetterOrDigit(line.charAt(i - 1)) && Character.isLetterOrDigit(line.charAt(i + 1));
            if ("\\`*_|[]<>#".indexOf(c) >= 0 && !intraword) {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }
}
