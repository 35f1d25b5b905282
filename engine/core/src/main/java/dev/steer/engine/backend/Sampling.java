package dev.steer.engine.backend;

import java.util.Arrays;

/**
 * Temperature and nucleus (top-p) sampling on the host, in double precision; the rule every backend's
 * {@link Backend#sample} follows. {@code p_i = exp((x_i - max) / T)}. With top-p < 1 the tokens are ordered by p
 * (descending, ties by lower index) and the shortest prefix whose share of the mass reaches top-p is kept; the
 * token is the first of that order (top-p) or of index order (top-p = 1) whose inclusive cumulative mass
 * exceeds {@code u × kept mass}, {@code u} in [0, 1) being the row's random draw.
 */
public final class Sampling {
    private Sampling() {
    }

    /** The token for row {@code logits[offset, offset + vocab)} and draw {@code u}. */
    public static int sample(float[] logits, int offset, int vocab, double temperature, double topP, double u) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[offset + i] - max) / temperature);
            sum += p[i];
        }
        Integer[] order = null;
        int keep = vocab;
        if (topP < 1) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) order[i] = i;
            final double[] pp = p;
            Arrays.sort(order, (a, b) -> pp[b] != pp[a] ? Double.compare(pp[b], pp[a]) : Integer.compare(a, b));
            double cum = 0;
            for (keep = 0; keep < vocab; ) {
                cum += p[order[keep++]] / sum;
                if (cum >= topP) break;
            }
            sum = 0;
            for (int k = 0; k < keep; k++) sum += p[order[k]];
        }
        double target = u * sum;
        double acc = 0;
        for (int k = 0; k < keep; k++) {
            int id = order == null ? k : order[k];
            acc += p[id];
            if (target < acc) return id;
        }
        return order == null ? vocab - 1 : order[keep - 1];
    }

    /** {@link #sample} for every row of host logits [rows, vocab], row r with draw {@code uniforms[r]}. */
    public static int[] sampleRows(float[] logits, int vocab, double temperature, double topP, double[] uniforms) {
        int[] next = new int[uniforms.length];
        for (int r = 0; r < uniforms.length; r++) next[r] = sample(logits, r * vocab, vocab, temperature, topP, uniforms[r]);
        return next;
    }
}
