package dev.cloister.federation;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The aggregation rules and update checks on small vectors whose answers are worked out by hand. */
class AggregationTest {

    private static Contribution c(long examples, double... delta) {
        return new Contribution("s", delta, examples);
    }

    @Test
    void fedavgWeighsByExampleCount() {
        // (1*[1,0] + 3*[5,4]) / 4 = [4, 3]
        assertArrayEquals(new double[]{4, 3}, Aggregation.FEDAVG.delta(List.of(c(1, 1, 0), c(3, 5, 4))), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Aggregation.FEDAVG.delta(List.of(c(0, 1))));
    }

    @Test
    void medianIsCoordinateWise() {
        Aggregation median = new Aggregation(Aggregation.Rule.MEDIAN, 0);
        // Odd count: the middle value per coordinate; a wild outlier changes nothing.
        assertArrayEquals(new double[]{2, -1}, median.delta(List.of(c(1, 1, -1), c(1, 2, 1e9), c(1, 1e9, -5))),
                1e-12);
        // Even count: the mean of the two middle values.
        assertArrayEquals(new double[]{2.5}, median.delta(List.of(c(1, 1), c(1, 2), c(1, 3), c(1, 100))), 1e-12);
    }

    @Test
    void trimmedMeanDropsBothTails() {
        Aggregation trimmed = new Aggregation(Aggregation.Rule.TRIMMED_MEAN, 0.2);
        // 5 values, floor(0.2*5)=1 dropped at each end: mean of 2, 3, 4.
        assertArrayEquals(new double[]{3}, trimmed.delta(List.of(c(1, -1000), c(1, 2), c(1, 3), c(1, 4),
                c(1, 1000))), 1e-12);
        // trim 0.2 of 3 values drops none: the plain mean.
        assertArrayEquals(new double[]{2}, trimmed.delta(List.of(c(1, 1), c(1, 2), c(1, 3))), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new Aggregation(Aggregation.Rule.TRIMMED_MEAN, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new Aggregation(Aggregation.Rule.MEDIAN, 0.1));
        assertEquals("trimmed-mean(0.2)", trimmed.describe());
        assertEquals(Aggregation.Rule.TRIMMED_MEAN, Aggregation.Rule.parse("trimmed-mean"));
        assertThrows(IllegalArgumentException.class, () -> Aggregation.Rule.parse("mean"));
    }

    private static Weights w(double... v) {
        return new Weights(List.of(new Tensor("w", new int[]{v.length}, v)));
    }

    @Test
    void updatesAreCheckedAndClipped() throws InvalidUpdateException {
        Weights global = w(1, 1);
        UpdateCheck.Accepted plain = UpdateCheck.check(global, w(4, 5), null);
        assertArrayEquals(new double[]{3, 4}, plain.delta(), 1e-12);
        assertEquals(5, plain.norm(), 1e-12);
        assertFalse(plain.clipped());
        // Norm 5 clipped to 1: same direction, length 1.
        UpdateCheck.Accepted clipped = UpdateCheck.check(global, w(4, 5), 1.0);
        assertArrayEquals(new double[]{0.6, 0.8}, clipped.delta(), 1e-12);
        assertTrue(clipped.clipped());
        assertEquals(5, clipped.norm(), 1e-12, "the record keeps the norm before clipping");
        assertEquals("array 'w' has 2 non-finite value(s) (NaN or infinity)", assertThrows(InvalidUpdateException.class,
                () -> UpdateCheck.check(global, w(Double.NaN, Double.POSITIVE_INFINITY), null)).getMessage());
        assertEquals("wrong shape: array 'w' has shape (3,), expected (2,)", assertThrows(InvalidUpdateException.class,
                () -> UpdateCheck.check(global, w(1, 2, 3), null)).getMessage());
        Weights extra = new Weights(List.of(new Tensor("w", new int[]{2}, new double[]{1, 1}),
                new Tensor("x", new int[]{1}, new double[]{0})));
        assertEquals("wrong shape: array 'x' is not part of the model", assertThrows(InvalidUpdateException.class,
                () -> UpdateCheck.check(global, extra, null)).getMessage());
        assertEquals("the update's distance from the global weights overflows", assertThrows(InvalidUpdateException.class,
                () -> UpdateCheck.check(global, w(1e300, 1e300), null)).getMessage());
    }

    @Test
    void flatLayoutFollowsNameOrder() {
        Weights weights = new Weights(List.of(new Tensor("w", new int[]{2}, new double[]{1, 2}),
                new Tensor("b", new int[]{1}, new double[]{9})));
        assertArrayEquals(new double[]{9, 1, 2}, weights.flat());
        Weights back = weights.withFlat(new double[]{0, 3, 4});
        assertEquals(Map.of("b", 0.0, "w", 3.0), Map.of("b", back.byName().get("b").values()[0], "w",
                back.byName().get("w").values()[0]));
    }
}
