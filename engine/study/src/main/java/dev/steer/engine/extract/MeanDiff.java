package dev.steer.engine.extract;

/**
 * The mean-difference direction: {@code mean(positive) − mean(negative)}, accumulated in double. Its norm is the
 * distance between the class means, in activation units, so it scales with the layer's residual norm.
 */
public final class MeanDiff {
    private MeanDiff() {
    }

    public static float[] direction(float[][] positive, float[][] negative) {
        double[] p = mean(positive), n = mean(negative);
        float[] v = new float[p.length];
        for (int i = 0; i < v.length; i++) v[i] = (float) (p[i] - n[i]);
        return v;
    }

    static double[] mean(float[][] rows) {
        if (rows.length == 0) throw new IllegalArgumentException("mean of no rows");
        double[] m = new double[rows[0].length];
        for (float[] r : rows) for (int i = 0; i < m.length; i++) m[i] += r[i];
        for (int i = 0; i < m.length; i++) m[i] /= rows.length;
        return m;
    }
}
