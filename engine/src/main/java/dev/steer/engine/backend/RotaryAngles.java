package dev.steer.engine.backend;

/**
 * Cosines and sines of the rotary angles, computed in double: {@code angle(p, i) = p * theta^(-2i/headDim)} for
 * i in [0, headDim/2). One implementation for every backend's {@link Backend#ropeTable}; the inverse frequencies
 * are computed once per (headDim, theta).
 */
public final class RotaryAngles {
    private final int headDim;
    private final double theta;
    private final double[] invFreq;

    public RotaryAngles(int headDim, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("ropeTable: headDim " + headDim + " must be even");
        this.headDim = headDim;
        this.theta = theta;
        this.invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = Math.pow(theta, -2.0 * i / headDim);
    }

    public boolean matches(int headDim, double theta) {
        return this.headDim == headDim && this.theta == theta;
    }

    /** [positions.length, headDim] row-major: cos in the first half of each row, sin in the second. */
    public float[] table(int[] positions) {
        int half = headDim / 2;
        float[] table = new float[positions.length * headDim];
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < half; i++) {
                double angle = positions[r] * invFreq[i];
                table[r * headDim + i] = (float) Math.cos(angle);
                table[r * headDim + half + i] = (float) Math.sin(angle);
            }
        }
        return table;
    }
}
