package dev.cloister.audit;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Which entries to read: {@code from <= time < to}, and exact matches on actor, subject and action; {@code limit}
 * keeps the newest matching entries. Entries come out in log order either way.
 */
public record AuditQuery(Optional<Instant> from, Optional<Instant> to, Optional<String> actor,
                         Optional<String> subject, Optional<String> action, OptionalInt limit) {

    /** The largest {@code limit} accepted. */
    public static final int MAX_LIMIT = 10_000;

    /** Every entry. */
    public static final AuditQuery ALL = new AuditQuery(Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), OptionalInt.empty());

    private static final int MAX_TEXT = 256;

    public AuditQuery {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(limit, "limit");
    }

    /**
     * Reads filters as given on a request; null means absent. {@code from} and {@code to} are ISO-8601 instants
     * ({@code 2025-01-02T03:04:05Z}, or with an offset).
     *
     * @throws IllegalArgumentException naming every bad filter (never echoing its value)
     */
    public static AuditQuery parse(String from, String to, String actor, String subject, String action, String limit) {
        List<String> problems = new ArrayList<>();
        Optional<Instant> start = instant("from", from, problems);
        Optional<Instant> end = instant("to", to, problems);
        if (start.isPresent() && end.isPresent() && !start.get().isBefore(end.get())) {
            problems.add("from: must be before to");
        }
        Optional<String> a = text("actor", actor, problems);
        Optional<String> s = text("job", subject, problems);
        Optional<String> act = text("action", action, problems);
        OptionalInt n = OptionalInt.empty();
        if (limit != null) {
            try {
                int value = Integer.parseInt(limit.strip());
                if (value < 1 || value > MAX_LIMIT) {
                    problems.add("limit: must be from 1 to " + MAX_LIMIT);
                } else {
                    n = OptionalInt.of(value);
                }
            } catch (NumberFormatException e) {
                problems.add("limit: not an integer");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        return new AuditQuery(start, end, a, s, act, n);
    }

    /** The same query with {@code limit} set when it has none. */
    public AuditQuery withDefaultLimit(int value) {
        return limit.isPresent() ? this : new AuditQuery(from, to, actor, subject, action, OptionalInt.of(value));
    }

    /** Whether any filter (not counting {@code limit}) is set. */
    public boolean filters() {
        return from.isPresent() || to.isPresent() || actor.isPresent() || subject.isPresent() || action.isPresent();
    }

    boolean matches(Entry e) {
        if (actor.isPresent() && !actor.get().equals(e.actor())
                || subject.isPresent() && !subject.get().equals(e.subject())
                || action.isPresent() && !action.get().equals(e.action())) {
            return false;
        }
        if (from.isEmpty() && to.isEmpty()) {
            return true;
        }
        Instant t = e.instant();
        return from.map(f -> !t.isBefore(f)).orElse(true) && to.map(t::isBefore).orElse(true);
    }

    private static Optional<Instant> instant(String name, String value, List<String> problems) {
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(value.strip()));
        } catch (DateTimeParseException e) {
            try {
                return Optional.of(OffsetDateTime.parse(value.strip()).toInstant());
            } catch (DateTimeParseException again) {
                problems.add(name + ": not an ISO-8601 instant such as 2025-01-02T03:04:05Z");
                return Optional.empty();
            }
        }
    }

    private static Optional<String> text(String name, String value, List<String> problems) {
        if (value == null) {
            return Optional.empty();
        }
        if (value.isEmpty() || value.length() > MAX_TEXT || value.chars().anyMatch(Character::isISOControl)) {
            problems.add(name + ": must be 1 to " + MAX_TEXT + " characters without control characters");
            return Optional.empty();
        }
        return Optional.of(value);
    }
}
