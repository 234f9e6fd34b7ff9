package dev.cloister.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What a seccomp profile lets a job do on x86_64 with no capabilities, as a reviewer reads it: the syscalls allowed
 * outright, those allowed only with certain arguments (with the rule's own comment), and which socket address
 * families {@code socket(2)} may open. Docker's multi-arch default profile is read the same way (rules gated on an
 * arch other than x86 or on a capability are left out, because a job never has one), so the two compare like for like.
 *
 * @param defaultAction  what every syscall not listed gets
 * @param allowed        syscalls allowed whatever their arguments
 * @param conditional    syscalls allowed only for some arguments: name → the conditions, as the rules state them
 * @param socketFamilies which address families {@code socket(2)} may create; {@code all} when it is unconditional
 */
public record SeccompSummary(String defaultAction, Set<String> allowed, Map<String, List<String>> conditional,
                             SocketFamilies socketFamilies) {

    /** Address families as Linux numbers them (include/linux/socket.h); the ones reviewers ask about. */
    static final Map<Integer, String> FAMILIES = Map.ofEntries(
            Map.entry(1, "AF_UNIX"), Map.entry(2, "AF_INET"), Map.entry(4, "AF_IPX"), Map.entry(5, "AF_APPLETALK"),
            Map.entry(9, "AF_X25"), Map.entry(10, "AF_INET6"), Map.entry(15, "AF_KEY"), Map.entry(16, "AF_NETLINK"),
            Map.entry(17, "AF_PACKET"), Map.entry(29, "AF_CAN"), Map.entry(30, "AF_TIPC"),
            Map.entry(31, "AF_BLUETOOTH"), Map.entry(38, "AF_ALG"), Map.entry(40, "AF_VSOCK"),
            Map.entry(44, "AF_XDP"));

    private static final Set<String> X86_64_ARCHES = Set.of("amd64", "x86_64", "SCMP_ARCH_X86_64");
    /** Names that exist on x86_64; Docker's profile also lists 32-bit and other arches' names, which never apply. */
    private static final Set<String> X86_64_SYSCALLS = x86_64Syscalls();

    /**
     * Which families a job can open sockets of.
     *
     * @param allowed the families allowed (names, or numbers for ones without a name); {@code ["all"]} when the
     *                profile allows {@code socket} unconditionally
     * @param blocked the well-known families the profile refuses (every one not allowed)
     */
    public record SocketFamilies(List<String> allowed, List<String> blocked) {
        public SocketFamilies {
            allowed = List.copyOf(allowed);
            blocked = List.copyOf(blocked);
        }
    }

    /**
     * Differences between two profiles' summaries.
     *
     * @param added        syscalls {@code to} allows outright that {@code from} does not
     * @param removed      syscalls {@code from} allows outright that {@code to} does not (or only conditionally)
     * @param familiesNowAllowed socket families {@code to} allows that {@code from} blocks
     * @param familiesNowBlocked socket families {@code from} allows that {@code to} blocks
     */
    public record Difference(List<String> added, List<String> removed, List<String> familiesNowAllowed,
                             List<String> familiesNowBlocked) {
        public boolean isEmpty() {
            return added.isEmpty() && removed.isEmpty() && familiesNowAllowed.isEmpty() && familiesNowBlocked.isEmpty();
        }
    }

    public SeccompSummary {
        allowed = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(allowed));
        conditional = Map.copyOf(conditional);
    }

    /** Summarises a profile's JSON; throws {@link IllegalArgumentException} if it is not a seccomp profile. */
    public static SeccompSummary of(String json) {
        JsonNode profile;
        try {
            profile = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a seccomp profile: " + e.getOriginalMessage());
        }
        if (profile == null || !profile.path("syscalls").isArray()) {
            throw new IllegalArgumentException("not a seccomp profile: no 'syscalls' list");
        }
        Set<String> allowed = new TreeSet<>();
        Map<String, List<String>> conditional = new TreeMap<>();
        Set<Integer> familiesAllowed = new TreeSet<>();
        boolean socketConditional = false;
        for (JsonNode rule : profile.get("syscalls")) {
            if (!rule.path("action").asText().equals("SCMP_ACT_ALLOW") || !appliesToJobs(rule)) {
                continue;
            }
            JsonNode args = rule.path("args");
            boolean unconditional = !args.isArray() || args.isEmpty();
            for (JsonNode n : rule.path("names")) {
                String name = n.asText();
                if (!X86_64_SYSCALLS.contains(name)) {
                    continue;
                }
                if (unconditional) {
                    allowed.add(name);
                    continue;
                }
                List<String> conditions = new ArrayList<>();
                for (JsonNode a : args) {
                    conditions.add(condition(name, a));
                    if (name.equals("socket") && a.path("index").asInt() == 0
                            && a.path("op").asText().equals("SCMP_CMP_EQ")) {
                        familiesAllowed.add(a.path("value").asInt());
                    }
                }
                if (name.equals("socket")) {
                    socketConditional = true;
                }
                String comment = rule.path("comment").asText("");
                conditional.computeIfAbsent(name, k -> new ArrayList<>())
                        .add(String.join(" and ", conditions) + (comment.isBlank() ? "" : " (" + comment + ")"));
            }
        }
        conditional.keySet().removeAll(allowed);
        SocketFamilies families;
        if (allowed.contains("socket")) {
            families = new SocketFamilies(List.of("all"), List.of());
        } else if (!socketConditional) {
            families = new SocketFamilies(List.of(), List.copyOf(new TreeSet<>(FAMILIES.values())));
        } else {
            List<String> in = familiesAllowed.stream().map(SeccompSummary::family).toList();
            List<String> out = FAMILIES.entrySet().stream().filter(e -> !familiesAllowed.contains(e.getKey()))
                    .map(Map.Entry::getValue).sorted().toList();
            families = new SocketFamilies(in, out);
        }
        return new SeccompSummary(profile.path("defaultAction").asText("?"), allowed, conditional, families);
    }

    /** What changes from {@code this} profile to {@code to}. */
    public Difference differenceTo(SeccompSummary to) {
        List<String> added = to.allowed.stream().filter(s -> !allowed.contains(s)).sorted().toList();
        List<String> removed = allowed.stream().filter(s -> !to.allowed.contains(s)).sorted().toList();
        List<String> nowAllowed = socketFamilies.blocked().stream()
                .filter(f -> !to.socketFamilies.blocked().contains(f)).toList();
        List<String> nowBlocked = to.socketFamilies.blocked().stream()
                .filter(f -> !socketFamilies.blocked().contains(f)).toList();
        return new Difference(added, removed, nowAllowed, nowBlocked);
    }

    private static Set<String> x86_64Syscalls() {
        try (InputStream in = SeccompSummary.class.getResourceAsStream("x86_64-syscalls.txt")) {
            if (in == null) {
                throw new IllegalStateException("x86_64-syscalls.txt is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).map(String::strip)
                    .collect(Collectors.toUnmodifiableSet());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String family(int number) {
        return FAMILIES.getOrDefault(number, "family " + number);
    }

    // A rule applies to a job if it is not limited to other arches and needs no capability (jobs have none).
    private static boolean appliesToJobs(JsonNode rule) {
        JsonNode includes = rule.path("includes");
        JsonNode excludes = rule.path("excludes");
        if (includes.path("caps").isArray() && !includes.path("caps").isEmpty()) {
            return false;
        }
        JsonNode arches = includes.path("arches");
        if (arches.isArray() && !arches.isEmpty() && !anyOf(arches, X86_64_ARCHES)) {
            return false;
        }
        return !(excludes.path("arches").isArray() && anyOf(excludes.path("arches"), X86_64_ARCHES));
    }

    private static boolean anyOf(JsonNode list, Set<String> names) {
        for (JsonNode n : list) {
            if (names.contains(n.asText())) {
                return true;
            }
        }
        return false;
    }

    private static String condition(String syscall, JsonNode arg) {
        int index = arg.path("index").asInt();
        long value = arg.path("value").asLong();
        String op = arg.path("op").asText();
        String shown = syscall.startsWith("socket") && index == 0 ? family((int) value) : "0x" + Long.toHexString(value);
        return switch (op) {
            case "SCMP_CMP_EQ" -> "arg" + index + " == " + shown;
            case "SCMP_CMP_NE" -> "arg" + index + " != " + shown;
            case "SCMP_CMP_MASKED_EQ" -> "arg" + index + " & 0x" + Long.toHexString(value) + " == 0x"
                    + Long.toHexString(arg.path("valueTwo").asLong());
            default -> "arg" + index + " " + op + " " + shown;
        };
    }
}
