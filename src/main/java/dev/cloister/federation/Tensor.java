package dev.cloister.federation;

import java.util.Arrays;

/**
 * One named float64 array in C order: what an {@code .npy} entry of a weights file holds.
 *
 * @param shape non-negative dimensions; the empty shape is a scalar
 */
public record Tensor(String name, int[] shape, double[] values) {

    public Tensor {
        shape = shape.clone();
        values = values.clone();
        if (!Weights.NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("array name '" + name + "' is not letters, digits, '_', '-' or '.'");
        }
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("array '" + name + "' has a negative dimension");
            }
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("array '" + name + "' has " + values.length + " values for shape "
                    + Arrays.toString(shape));
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    /** The shape as numpy prints it: {@code (30,)}, {@code (2, 3)}, {@code ()}. */
    public String shapeText() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    // Package-private views without copies, for the arithmetic in this package.
    double[] raw() {
        return values;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && Arrays.equals(shape, t.shape)
                && Arrays.equals(values, t.values);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + shapeText() + "]";
    }
}
