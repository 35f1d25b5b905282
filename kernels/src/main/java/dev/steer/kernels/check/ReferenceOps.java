package dev.steer.kernels.check;

import dev.steer.engine.backend.AttentionSpec;

/**
 * Plain-Java versions of every CUDA op, llm.c style: slow, sequential, sums in double, written straight from
 * the math in each op's javadoc ({@link dev.steer.engine.backend.Backend}). The GPU self-check compares the
 * kernels with these on random inputs. Arrays are row-major float32.
 */
public final class ReferenceOps {
    private ReferenceOps() {
    }

    /** {@code table[ids] * scale}: table [vocab, hidden] → [ids.length, hidden]. */
    public static float[] embed(float[] table, int hidden, int[] ids, float scale) {
        float[] out = new float[ids.length * hidden];
        for (int r = 0; r < ids.length; r++)
            for (int j = 0; j < hidden; j++) out[r * hidden + j] = table[ids[r] * hidden + j] * scale;
        return out;
    }

    /** {@code x / sqrt(mean(x²) + eps) * (1 + w)} over rows of {@code w.length}. */
    public static float[] rmsNorm(float[] x, float[] w, float eps) {
        int n = w.length;
        float[] out = new float[x.length];
        for (int r = 0; r < x.length / n; r++) {
            double ss = 0;
            for (int j = 0; j < n; j++) ss += (double) x[r * n + j] * x[r * n + j];
            double inv = 1.0 / Math.sqrt(ss / n + eps);
            for (int j = 0; j < n; j++) out[r * n + j] = (float) (x[r * n + j] * inv * (1.0 + w[j]));
        }
        return out;
    }

    /** {@code x · wᵀ}: x [m, k], w [n, k] → [m, n]. */
    public static float[] linear(float[] x, float[] w, int k) {
        int m = x.length / k, n = w.length / k;
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int o = 0; o < n; o++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += (double) x[i * k + j] * w[o * k + j];
                out[i * n + o] = (float) s;
            }
        return out;
    }

    public static float[] add(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] + b[i];
        return out;
    }

    /** {@code gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/π) (g + 0.044715 g³)))}, times up. */
    public static float[] geluTanhMul(float[] gate, float[] up) {
        float[] out = new float[gate.length];
        double k = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < gate.length; i++) {
            double g = gate[i];
            out[i] = (float) (0.5 * g * (1 + Math.tanh(k * (g + 0.044715 * g * g * g))) * up[i]);
        }
        return out;
    }

    public static float[] softcap(float[] x, float cap) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) (Math.tanh(x[i] / (double) cap) * cap);
        return out;
    }

    /** Rotate-half RoPE on x [rows, heads * headDim], row r at {@code positions[r]}, angle p·θ^(-2i/headDim). */
    public static float[] rope(float[] x, int heads, int headDim, int[] positions, double theta) {
        float[] out = new float[x.length];
        int half = headDim / 2;
        for (int r = 0; r < positions.length; r++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++) {
                    double angle = positions[r] * Math.pow(theta, -2.0 * i / headDim);
                    double c = (float) Math.cos(angle), s = (float) Math.sin(angle);
                    int a = (r * heads + h) * headDim + i, b = a + half;
                    out[a] = (float) (x[a] * c - x[b] * s);
                    out[b] = (float) (x[b] * c + x[a] * s);
                }
        return out;
    }

    /**
     * Attention of this step's queries q [B, T, heads * D] (slots past .. past + T - 1) over every key and value
     * so far, keys and values [B, S, kvHeads * D] for slots 0 .. S - 1. Key j is visible to query slot i iff
     * j ≤ i, j ≥ padLeft[b] and (window ≤ 0 or i - j < window); a query with no visible key gives zeros.
     */
    public static float[] attention(float[] q, float[] keys, float[] values, int batch, int steps, int slots, int past,
                                    int[] padLeft, AttentionSpec spec) {
        int heads = spec.heads(), kvHeads = spec.kvHeads(), d = spec.headDim(), group = heads / kvHeads;
        float[] out = new float[batch * steps * heads * d];
        double[] p = new double[slots];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                for (int h = 0; h < heads; h++) {
                    int i = past + t, kvh = h / group;
                    int qo = ((b * steps + t) * heads + h) * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < slots; j++) {
                        boolean visible = j <= i && j >= padLeft[b] && (spec.window() <= 0 || i - j < spec.window());
                        if (!visible) {
                            p[j] = Double.NaN;
                            continue;
                        }
                        int ko = ((b * slots + j) * kvHeads + kvh) * d;
                        double s = 0;
                        for (int e = 0; e < d; e++) s += (double) q[qo + e] * keys[ko + e];
                        s *= spec.scale();
                        if (spec.softcap() > 0) s = Math.tanh(s / spec.softcap()) * spec.softcap();
                        p[j] = s;
                        max = Math.max(max, s);
                    }
                    if (max == Double.NEGATIVE_INFINITY) continue;   // pad query: zeros
                    double sum = 0;
                    for (int j = 0; j < slots; j++) {
                        if (Double.isNaN(p[j])) continue;
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < slots; j++)
                            if (!Double.isNaN(p[j])) acc += p[j] * values[((b * slots + j) * kvHeads + kvh) * d + e];
                        out[qo + e] = (float) (acc / sum);
                    }
                }
        return out;
    }

    /** x [B, T, F] → [B, F], the last step of every row. */
    public static float[] lastStep(float[] x, int batch, int steps, int features) {
        float[] out = new float[batch * features];
        for (int b = 0; b < batch; b++) System.arraycopy(x, ((b + 1) * steps - 1) * features, out, b * features, features);
        return out;
    }

    /** L2 norm of every row of {@code hidden} values. */
    public static float[] norms(float[] h, int hidden) {
        float[] out = new float[h.length / hidden];
        for (int r = 0; r < out.length; r++) {
            double ss = 0;
            for (int j = 0; j < hidden; j++) ss += (double) h[r * hidden + j] * h[r * hidden + j];
            out[r] = (float) Math.sqrt(ss);
        }
        return out;
    }

    /** {@code h + mask[b, t] * delta[b]}: h [B, T, H], delta [B, H], mask [B, T]. */
    public static float[] steer(float[] h, float[] delta, float[] mask, int batch, int steps, int hidden) {
        float[] out = h.clone();
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                for (int j = 0; j < hidden; j++) out[(b * steps + t) * hidden + j] += mask[b * steps + t] * delta[b * hidden + j];
        return out;
    }

    /** Index of the largest value of every row of {@code vocab} values; ties: the lowest index. */
    public static int[] argmax(float[] logits, int vocab) {
        int[] out = new int[logits.length / vocab];
        for (int r = 0; r < out.length; r++) {
            int best = 0;
            for (int j = 1; j < vocab; j++) if (logits[r * vocab + j] > logits[r * vocab + best]) best = j;
            out[r] = best;
        }
        return out;
    }
}
