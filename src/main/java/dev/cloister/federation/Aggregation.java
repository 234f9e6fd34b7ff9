package dev.cloister.federation;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How a round's accepted updates become the next global weights. Every rule works coordinate by coordinate on the
 * updates' deltas from the round's input, and the next global is the input plus the aggregated delta.
 *
 * <ul>
 *   <li>{@code fedavg}: mean weighted by each site's example count (McMahan et al., 2017);</li>
 *   <li>{@code median}: coordinate-wise median (the mean of the two middle values for an even count), robust to a
 *   minority of arbitrary updates;</li>
 *   <li>{@code trimmed-mean}: per coordinate, drop the {@code floor(trim × n)} smallest and largest values and
 *   average the rest; {@code trim} in [0, 0.5).</li>
 * </ul>
 * Example counts are what each site reports, and only fedavg uses them: a site that inflates its count inflates its
 * weight, which is what the robust rules are for.
 */
public record Aggregation(Rule rule, double trim) {

    /** The rules, by their spec names. */
    public enum Rule {
        FEDAVG("fedavg"), MEDIAN("median"), TRIMMED_MEAN("trimmed-mean");

        private final String specName;

        Rule(String specName) {
            this.specName = specName;
        }

        public String specName() {
            return specName;
        }

        public static Rule parse(String text) {
            for (Rule r : values()) {
                if (r.specName.equals(text.toLowerCase(Locale.ROOT))) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown aggregation rule '" + text + "' (known: fedavg, median, "
                    + "trimmed-mean)");
        }
    }

    public Aggregation {
        if (rule == null) {
            throw new IllegalArgumentException("an aggregation needs a rule");
        }
        if (rule == Rule.TRIMMED_MEAN ? !(trim >= 0 && trim < 0.5) : trim != 0) {
            throw new IllegalArgumentException(rule == Rule.TRIMMED_MEAN ? "trim must be in [0, 0.5)"
                    : "trim applies to trimmed-mean only");
        }
    }

    public static final Aggregation FEDAVG = new Aggregation(Rule.FEDAVG, 0);

    /** The aggregated delta of the contributions (at least one, all of the same length). */
    double[] delta(List<Contribution> contributions) {
        if (contributions.isEmpty()) {
            throw new IllegalArgumentException("nothing to aggregate");
        }
        int n = contributions.get(0).delta().length;
        for (Contribution c : contributions) {
            if (c.delta().length != n) {
                throw new IllegalArgumentException("contributions of different sizes");
            }
        }
        return switch (rule) {
            case FEDAVG -> weightedMean(contributions, n);
            case MEDIAN -> perCoordinate(contributions, n, Aggregation::median);
            case TRIMMED_MEAN -> perCoordinate(contributions, n, v -> trimmedMean(v, trim));
        };
    }

    private static double[] weightedMean(List<Contribution> cs, int n) {
        double total = 0;
        for (Contribution c : cs) {
            if (c.examples() <= 0) {
                throw new IllegalArgumentException("fedavg needs a positive example count from every site");
            }
            total += c.examples();
        }
        double[] out = new double[n];
        for (Contribution c : cs) {
            double w = c.examples() / total;
            for (int i = 0; i < n; i++) {
                out[i] += w * c.delta()[i];
            }
        }
        return out;
    }

    private interface Reducer {
        double reduce(double[] sortedValues);
    }

    private static double[] perCoordinate(List<Contribution> cs, int n, Reducer reducer) {
        double[] out = new double[n];
        double[] column = new double[cs.size()];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < cs.size(); k++) {
                column[k] = cs.get(k).delta()[i];
            }
            Arrays.sort(column);
            out[i] = reducer.reduce(column);
        }
        return out;
    }

    static double median(double[] sorted) {
        int m = sorted.length;
        return m % 2 == 1 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
    }

    static double trimmedMean(double[] sorted, double trim) {
        int k = (int) Math.floor(trim * sorted.length);
        double sum = 0;
        for (int i = k; i < sorted.length - k; i++) {
            sum += sorted[i];
        }
        return sum / (sorted.length - 2 * k);
    }

    /** As written in specs and round records: {@code fedavg}, {@code median}, {@code trimmed-mean(0.2)}. */
    public String describe() {
        return rule == Rule.TRIMMED_MEAN ? rule.specName + "(" + trim + ")" : rule.specName;
    }
}
