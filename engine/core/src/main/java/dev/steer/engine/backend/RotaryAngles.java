package dev.steer.engine.backend;

/**
 * Cosines and sines of the rotary angles, computed in double: {@code angle(p, i) = p * theta^(-2i/headDim)} for
 * i in [0, headDim/2). One implementation for every backend's {@link Backend#ropeTable}; the inverse frequencies
 * are computed once per (headDim, theta), and each position's row once (up to {@link #CACHED_POSITIONS}): a decode
 * step asks for one row per batch row every step, and recomputing them (headDim trig calls each) sat on the host's
 * share of every step (139 µs at batch 64, headDim 256, on the 2-core dev VM; a copy of the cached rows is a few µs).
 * Not thread-safe, like the backends that own one.
 */
public final class RotaryAngles {
    /** Positions whose rows are kept (at headDim 256, 1 KiB each). */
    static final int CACHED_POSITIONS = 1 << 15;
    private final int headDim;
    private final double theta;
    private final double[] invFreq;
    private float[][] rows = new float[0][];

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
        float[] table = new float[positions.length * headDim];
        for (int r = 0; r < positions.length; r++) {
            int p = positions[r];
            if (p >= 0 && p < CACHED_POSITIONS) System.arraycopy(row(p), 0, table, r * headDim, headDim);
            else compute(p, table, r * headDim);
        }
        return table;
    }

    private float[] row(int p) {
        if (p >= rows.length) rows = java.util.Arrays.copyOf(rows, Math.min(CACHED_POSITIONS, Math.max(p + 1, 2 * rows.length)));
        float[] row = rows[p];
        if (row == null) {
            row = new float[headDim];
            compute(p, row, 0);
            rows[p] = row;
        }
        return row;
    }

    private void compute(int p, float[] out, int at) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            double angle = p * invFreq[i];
            out[at + i] = (float) Math.cos(angle);
            out[at + half + i] = (float) Math.sin(angle);
        }
    }
}
