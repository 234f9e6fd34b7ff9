package dev.cloister.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cloister.policy.ImageRef;
import dev.cloister.policy.Policy;
import dev.cloister.policy.Violation;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a Dockerfile only as far as the build rules need, and refuses what the rules forbid, each with its line:
 * a {@code FROM} that is not an earlier stage, {@code scratch} or an image pinned by registry digest in a
 * repository the policy allows (after substituting the global {@code ARG}s; anything it cannot resolve is refused);
 * {@code FROM} flags; {@code ADD} of a URL (the engine itself would download it, network or not); {@code RUN}
 * flags ({@code --network}, {@code --mount}, {@code --security}: BuildKit's, and never a network);
 * {@code COPY --from} anything but an earlier stage; parser directives other than the default escape; build args
 * that no {@code ARG} declares, or that configure a proxy. Instructions inside {@code ONBUILD} are held to the same
 * rules.
 */
public final class DockerfileCheck {

    /** What a Dockerfile that passed builds on. */
    public record Checked(List<ImageRef> bases, Set<String> declaredArgs) {
        public Checked {
            bases = List.copyOf(bases);
            declaredArgs = Set.copyOf(declaredArgs);
        }
    }

    static final int MAX_BUILD_ARGS = 64;
    static final int MAX_BUILD_ARG_CHARS = 4096;
    private static final Pattern ARG_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Pattern DIRECTIVE = Pattern.compile("#\\s*([a-zA-Z]+)\\s*=\\s*(.*?)\\s*");
    private static final Pattern VARIABLE = Pattern.compile("\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)}|([A-Za-z_][A-Za-z0-9_]*))");
    private static final Pattern URL = Pattern.compile("(?i)^(?:[a-z][a-z0-9+.-]*://|git@).*");
    private static final Set<String> PROXY_ARGS = Set.of("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
            "ALL_PROXY");
    private static final ObjectMapper JSON = new ObjectMapper();

    private DockerfileCheck() {
    }

    /** A logical line: the instruction (upper case), its arguments, and the line it starts on. */
    private record Instruction(int line, String keyword, String args) {
        String where() {
            return "Dockerfile line " + line;
        }
    }

    /**
     * Checks {@code dockerfile} with {@code buildArgs} against {@code policy}; returns the external bases, or throws
     * with every violation found.
     */
    public static Checked check(String dockerfile, Map<String, String> buildArgs, Policy policy) throws BuildException {
        List<Violation> violations = new ArrayList<>();
        List<Instruction> instructions = parse(dockerfile, violations);
        Map<String, String> globalArgs = new LinkedHashMap<>();
        Set<String> declared = new LinkedHashSet<>();
        List<String> stages = new ArrayList<>();
        List<ImageRef> bases = new ArrayList<>();
        boolean seenFrom = false;
        for (Instruction in : instructions) {
            String keyword = in.keyword();
            String args = in.args();
            if (keyword.equals("ONBUILD")) {
                String[] inner = args.strip().split("\\s+", 2);
                keyword = inner[0].toUpperCase(Locale.ROOT);
                args = inner.length > 1 ? inner[1] : "";
                if (keyword.equals("FROM") || keyword.equals("ONBUILD")) {
                    continue; // Docker refuses these itself
                }
            }
            switch (keyword) {
                case "ARG" -> {
                    for (String decl : args.strip().split("\\s+")) {
                        if (decl.isEmpty()) {
                            continue;
                        }
                        int eq = decl.indexOf('=');
                        String name = eq < 0 ? decl : decl.substring(0, eq);
                        String value = eq < 0 ? null : unquote(decl.substring(eq + 1));
                        declared.add(name);
                        if (!seenFrom) {
                            globalArgs.put(name, buildArgs.getOrDefault(name, value));
                        }
                    }
                }
                case "FROM" -> {
                    seenFrom = true;
                    from(in, globalArgs, stages, bases, policy, violations);
                }
                case "ADD" -> {
                    for (String source : sources(in, args, violations)) {
                        if (URL.matcher(source).matches()) {
                            violations.add(new Violation(in.where(), "ADD of a URL ('" + source + "') is refused:"
                                    + " builds have no network; dependencies come in the context or the base image"));
                        }
                    }
                }
                case "COPY" -> {
                    for (String flag : flags(args)) {
                        if (flag.toLowerCase(Locale.ROOT).startsWith("--from=")) {
                            String from = flag.substring("--from=".length());
                            boolean stage = stages.stream().anyMatch(s -> s.equalsIgnoreCase(from))
                                    || (from.matches("\\d{1,3}") && Integer.parseInt(from) < stages.size());
                            if (!stage) {
                                violations.add(new Violation(in.where(), "COPY --from=" + from + " names no earlier"
                                        + " stage: make the image a stage (FROM repository@sha256:... AS name)"));
                            }
                        }
                    }
                }
                case "RUN" -> {
                    for (String flag : flags(args)) {
                        String name = flag.toLowerCase(Locale.ROOT).replaceFirst("=.*", "");
                        String why = name.equals("--network") ? "builds never get a network"
                                : "a BuildKit option; builds use the classic builder with no network";
                        violations.add(new Violation(in.where(), "RUN " + name + " is refused: " + why));
                    }
                }
                default -> {
                }
            }
        }
        if (!seenFrom) {
            violations.add(new Violation("Dockerfile", "has no FROM instruction"));
        }
        checkBuildArgs(buildArgs, declared, violations);
        if (!violations.isEmpty()) {
            throw new BuildException(violations);
        }
        return new Checked(bases, declared);
    }

    private static void from(Instruction in, Map<String, String> globalArgs, List<String> stages, List<ImageRef> bases,
                             Policy policy, List<Violation> violations) {
        String[] tokens = in.args().strip().split("\\s+");
        if (tokens.length == 0 || tokens[0].isEmpty()) {
            violations.add(new Violation(in.where(), "FROM names no image"));
            stages.add("");
            return;
        }
        if (tokens[0].startsWith("--")) {
            violations.add(new Violation(in.where(), "FROM " + tokens[0].replaceFirst("=.*", "")
                    + " is refused: the base is named by digest alone"));
            stages.add("");
            return;
        }
        String alias = tokens.length == 3 && tokens[1].equalsIgnoreCase("as") ? tokens[2] : "";
        if (tokens.length != 1 && alias.isEmpty()) {
            violations.add(new Violation(in.where(), "FROM must be 'FROM image' or 'FROM image AS name'"));
        }
        String image = substitute(in, tokens[0], globalArgs, violations);
        stages.add(alias);
        if (image == null) {
            return;
        }
        if (image.equalsIgnoreCase("scratch") || stages.subList(0, stages.size() - 1).stream()
                .anyMatch(s -> !s.isEmpty() && s.equalsIgnoreCase(image))) {
            return;
        }
        ImageRef ref;
        try {
            ref = ImageRef.parse(image);
        } catch (IllegalArgumentException e) {
            violations.add(new Violation(in.where(), "FROM " + image + ": " + e.getMessage()));
            return;
        }
        if (!policy.allowedImageRepositories().contains(ref.repository())) {
            violations.add(new Violation(in.where(), "FROM " + image + ": repository '" + ref.repository()
                    + "' is not allowed by policy '" + policy.name() + "' (allowed: "
                    + policy.allowedImageRepositories() + ")"));
            return;
        }
        bases.add(ref);
    }

    // Global ARGs in FROM: $NAME and ${NAME} only; anything that cannot be resolved to a value is refused.
    private static String substitute(Instruction in, String text, Map<String, String> globalArgs,
                                     List<Violation> violations) {
        Matcher m = VARIABLE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            String value = globalArgs.get(name);
            if (value == null) {
                violations.add(new Violation(in.where(), "FROM uses ${" + name + "}, which has no value (declare it"
                        + " with ARG before the first FROM and give it a default or a build arg): the base cannot be"
                        + " pinned"));
                return null;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        if (out.indexOf("$") >= 0) {
            violations.add(new Violation(in.where(), "FROM " + text + ": only $NAME and ${NAME} are substituted; the"
                    + " base cannot be pinned"));
            return null;
        }
        return out.toString();
    }

    private static void checkBuildArgs(Map<String, String> buildArgs, Set<String> declared, List<Violation> violations) {
        if (buildArgs.size() > MAX_BUILD_ARGS) {
            violations.add(new Violation("buildArgs", "at most " + MAX_BUILD_ARGS + " build args"));
            return;
        }
        buildArgs.forEach((name, value) -> {
            String field = "buildArgs." + name;
            if (!ARG_NAME.matcher(name).matches()) {
                violations.add(new Violation(field, "is not a valid build arg name"));
            } else if (PROXY_ARGS.contains(name.toUpperCase(Locale.ROOT))) {
                violations.add(new Violation(field, "proxy settings are refused: builds have no network"));
            } else if (!declared.contains(name)) {
                violations.add(new Violation(field, "is not declared by any ARG in the Dockerfile"));
            } else if (value == null || value.length() > MAX_BUILD_ARG_CHARS || value.indexOf(0) >= 0) {
                violations.add(new Violation(field, "value must be at most " + MAX_BUILD_ARG_CHARS
                        + " characters, no NUL"));
            }
        });
    }

    // Logical lines: directives first, comments dropped, backslash continuations joined.
    private static List<Instruction> parse(String text, List<Violation> violations) {
        List<Instruction> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        boolean directives = true;
        StringBuilder current = null;
        int start = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            String trimmed = line.strip();
            if (directives) {
                Matcher d = DIRECTIVE.matcher(trimmed);
                if (d.matches()) {
                    String key = d.group(1).toLowerCase(Locale.ROOT);
                    if (key.equals("syntax") || (key.equals("escape") && !d.group(2).equals("\\"))) {
                        violations.add(new Violation("Dockerfile line " + (i + 1), "parser directive '" + key
                                + "' is refused: the classic builder reads this Dockerfile with the default escape"));
                    }
                    continue;
                }
                directives = false;
            }
            if (trimmed.startsWith("#") || (current == null && trimmed.isEmpty())) {
                continue;
            }
            if (current == null) {
                current = new StringBuilder();
                start = i + 1;
            }
            if (trimmed.endsWith("\\")) {
                current.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            current.append(trimmed);
            add(out, start, current.toString());
            current = null;
        }
        if (current != null) {
            add(out, start, current.toString());
        }
        return out;
    }

    private static void add(List<Instruction> out, int line, String logical) {
        String s = logical.strip();
        if (s.isEmpty()) {
            return;
        }
        String[] parts = s.split("\\s+", 2);
        out.add(new Instruction(line, parts[0].toUpperCase(Locale.ROOT), parts.length > 1 ? parts[1] : ""));
    }

    // The leading --flags of an instruction's arguments.
    private static List<String> flags(String args) {
        List<String> flags = new ArrayList<>();
        for (String token : args.strip().split("\\s+")) {
            if (!token.startsWith("--")) {
                break;
            }
            flags.add(token);
        }
        return flags;
    }

    // ADD's sources: every argument but the last, after the flags; JSON form too.
    private static List<String> sources(Instruction in, String args, List<Violation> violations) {
        String rest = args.strip();
        for (String flag : flags(rest)) {
            rest = rest.substring(flag.length()).strip();
        }
        List<String> parts = new ArrayList<>();
        if (rest.startsWith("[")) {
            try {
                JsonNode array = JSON.readTree(rest);
                array.forEach(n -> parts.add(n.asText()));
            } catch (IOException e) {
                violations.add(new Violation(in.where(), "ADD arguments are not a JSON array of strings"));
                return List.of();
            }
        } else {
            parts.addAll(List.of(rest.split("\\s+")));
        }
        return parts.size() < 2 ? parts : parts.subList(0, parts.size() - 1);
    }

    private static String unquote(String s) {
        if (s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
            return s.substring(1, s.length() - 1);
        }
        return s;
    }
}
