package dev.cloister.federation;

import java.util.ArrayList;
import java.util.List;

/**
 * Validates one site's update against the round's global weights: same arrays and shapes, every value finite, and
 * the delta's L2 norm clipped to {@code clipNorm} when the federation sets one (scaled down, direction kept).
 * The size cap is the {@link Npz.Limits} the update was read under.
 */
final class UpdateCheck {

    /** An accepted update: its delta (clipped) and the norm it had before clipping. */
    record Accepted(double[] delta, double norm, boolean clipped) {
    }

    private UpdateCheck() {
    }

    /**
     * @param clipNorm the L2 bound of a delta, or null for none
     * @throws InvalidUpdateException with every problem found when the update is not acceptable
     */
    static Accepted check(Weights global, Weights update, Double clipNorm) throws InvalidUpdateException {
        List<String> problems = new ArrayList<>(global.layoutDifferences(update));
        if (!problems.isEmpty()) {
            throw new InvalidUpdateException("wrong shape: " + String.join("; ", problems));
        }
        for (Tensor t : update.tensors()) {
            int bad = 0;
            for (double v : t.raw()) {
                if (!Double.isFinite(v)) {
                    bad++;
                }
            }
            if (bad > 0) {
                problems.add("array '" + t.name() + "' has " + bad + " non-finite value(s) (NaN or infinity)");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidUpdateException(String.join("; ", problems));
        }
        double[] g = global.flat();
        double[] u = update.flat();
        double[] delta = new double[g.length];
        double sum = 0;
        for (int i = 0; i < g.length; i++) {
            delta[i] = u[i] - g[i];
            sum += delta[i] * delta[i];
        }
        double norm = Math.sqrt(sum);
        if (!Double.isFinite(norm)) {
            throw new InvalidUpdateException("the update's distance from the global weights overflows");
        }
        if (clipNorm != null && norm > clipNorm) {
            double scale = clipNorm / norm;
            for (int i = 0; i < delta.length; i++) {
                delta[i] *= scale;
            }
            return new Accepted(delta, norm, true);
        }
        return new Accepted(delta, norm, false);
    }
}
