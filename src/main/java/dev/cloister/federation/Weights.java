package dev.cloister.federation;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** A model's weights: named float64 arrays, kept sorted by name so that their {@code .npz} form is deterministic. */
public record Weights(List<Tensor> tensors) {

    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");

    public Weights {
        List<Tensor> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparing(Tensor::name));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).name().equals(sorted.get(i - 1).name())) {
                throw new IllegalArgumentException("array '" + sorted.get(i).name() + "' appears twice");
            }
        }
        tensors = List.copyOf(sorted);
    }

    /** Zeros of the given shapes: the initial global model. */
    public static Weights zeros(Map<String, int[]> shapes) {
        List<Tensor> out = new ArrayList<>();
        shapes.forEach((name, shape) -> {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            out.add(new Tensor(name, shape, new double[Math.toIntExact(n)]));
        });
        return new Weights(out);
    }

    public Map<String, Tensor> byName() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        tensors.forEach(t -> m.put(t.name(), t));
        return m;
    }

    /** Total number of values. */
    public long size() {
        return tensors.stream().mapToLong(t -> t.raw().length).sum();
    }

    /** All values, array after array in name order: the flat vector the aggregation rules work on. */
    double[] flat() {
        double[] out = new double[Math.toIntExact(size())];
        int at = 0;
        for (Tensor t : tensors) {
            System.arraycopy(t.raw(), 0, out, at, t.raw().length);
            at += t.raw().length;
        }
        return out;
    }

    /** Weights of this layout holding {@code flat} (as {@link #flat()} lays values out). */
    Weights withFlat(double[] flat) {
        if (flat.length != size()) {
            throw new IllegalArgumentException("expected " + size() + " values, got " + flat.length);
        }
        List<Tensor> out = new ArrayList<>();
        int at = 0;
        for (Tensor t : tensors) {
            double[] v = new double[t.raw().length];
            System.arraycopy(flat, at, v, 0, v.length);
            at += v.length;
            out.add(new Tensor(t.name(), t.shape(), v));
        }
        return new Weights(out);
    }

    /** Problems that make {@code other} a different layout (names or shapes), each in words; empty when equal. */
    List<String> layoutDifferences(Weights other) {
        List<String> problems = new ArrayList<>();
        Map<String, Tensor> mine = byName();
        Map<String, Tensor> theirs = other.byName();
        for (Tensor t : tensors) {
            Tensor o = theirs.get(t.name());
            if (o == null) {
                problems.add("array '" + t.name() + "' is missing");
            } else if (!o.sameShape(t)) {
                problems.add("array '" + t.name() + "' has shape " + o.shapeText() + ", expected " + t.shapeText());
            }
        }
        Collection<String> extra = new ArrayList<>(theirs.keySet());
        extra.removeAll(mine.keySet());
        extra.forEach(n -> problems.add("array '" + n + "' is not part of the model"));
        return problems;
    }
}
