package dev.cloister.cis;

import dev.cloister.digest.Digest;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** How evidence quotes inspected values: as the engine wrote them, but bounded (a seccomp profile is one digest). */
final class Quote {

    private static final int MAX_ARG = 48;
    private static final int MAX_ARGS = 8;

    private Quote() {
    }

    /** A string value, with an empty one shown as {@code ''}. */
    static String text(String value) {
        return value == null || value.isEmpty() ? "''" : value;
    }

    static String list(List<?> values) {
        return values.stream().map(String::valueOf).collect(Collectors.joining(", ", "[", "]"));
    }

    /** {@code HostConfig.SecurityOpt}, with an inline seccomp profile shown as its size and SHA-256. */
    static String securityOpts(List<String> options) {
        return options.stream().map(Quote::securityOpt).collect(Collectors.joining(", ", "[", "]"));
    }

    static String securityOpt(String option) {
        String value = seccompValue(option);
        if (value == null || !value.trim().startsWith("{")) {
            return option;
        }
        // The engine keeps the whole profile text; its digest is what the plan and the provenance record.
        return option.substring(0, option.length() - value.length()) + "<profile JSON, "
                + value.getBytes(StandardCharsets.UTF_8).length + " bytes, " + Digest.of(value) + ">";
    }

    /** The value of a {@code seccomp=...} (or old-style {@code seccomp:...}) option, or null for other options. */
    static String seccompValue(String option) {
        String lower = option.toLowerCase(Locale.ROOT);
        if (lower.startsWith("seccomp=") || lower.startsWith("seccomp:")) {
            return option.substring("seccomp=".length());
        }
        return null;
    }

    /** The main process's argv, each argument and the count cut short: evidence, not a copy of the job's script. */
    static String command(List<String> argv) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < argv.size() && i < MAX_ARGS; i++) {
            String arg = argv.get(i).replace('\n', ' ');
            out.append(i == 0 ? "" : ", ").append(arg.length() <= MAX_ARG ? arg : arg.substring(0, MAX_ARG) + "…");
        }
        if (argv.size() > MAX_ARGS) {
            out.append(", … (").append(argv.size() - MAX_ARGS).append(" more)");
        }
        return out.append("]").toString();
    }

    static String mount(ContainerFacts.Mount m) {
        return (m.type().isEmpty() ? "" : m.type() + " ") + text(m.source()) + " → " + m.destination()
                + " (" + (m.readWrite() ? "rw" : "ro") + (m.propagation().isEmpty() ? "" : ", " + m.propagation())
                + ")";
    }

    static String mounts(List<ContainerFacts.Mount> mounts) {
        return mounts.stream().map(Quote::mount).collect(Collectors.joining(", ", "[", "]"));
    }

    static String ports(List<ContainerFacts.PortBinding> bindings) {
        return bindings.stream().map(b -> b.containerPort() + "→" + (b.hostIp().isEmpty() ? "*" : b.hostIp()) + ":"
                + (b.hostPort().isEmpty() ? "(any)" : b.hostPort())).collect(Collectors.joining(", ", "{", "}"));
    }

    /** A byte count as the engine reports it, with a readable size after it. */
    static String bytes(long bytes) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        String unit = "B";
        for (String u : units) {
            if (v < 1024) {
                break;
            }
            v /= 1024;
            unit = u;
        }
        if (unit.equals("B")) {
            return bytes + " (" + bytes + " B)";
        }
        String number = v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v);
        return bytes + " (" + number + " " + unit + ")";
    }
}
