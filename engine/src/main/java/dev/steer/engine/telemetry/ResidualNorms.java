package dev.steer.engine.telemetry;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;

import java.util.List;

/**
 * Residual norms ‖h‖ (L2 over hidden) at every layer's output for a set of prompts, measured in one left-padded
 * prefill. Convention (matches the reference fixture and {@code steer norms}): per-prompt means include BOS;
 * padding is never counted.
 */
public final class ResidualNorms {
    private final double[][] sum;      // [prompt][layer]
    private final double[][] last;     // [prompt][layer]
    private final int[] count;         // tokens per prompt
    private final int layers;

    private ResidualNorms(int prompts, int layers) {
        this.sum = new double[prompts][layers];
        this.last = new double[prompts][layers];
        this.count = new int[prompts];
        this.layers = layers;
    }

    public static ResidualNorms measure(CausalLm lm, List<int[]> prompts) {
        Backend b = lm.backend();
        int batch = prompts.size();
        int maxLen = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int[] padLeft = new int[batch];
        int[] ids = new int[batch * maxLen];
        for (int r = 0; r < batch; r++) {
            int[] p = prompts.get(r);
            padLeft[r] = maxLen - p.length;
            for (int t = 0; t < padLeft[r]; t++) ids[r * maxLen + t] = lm.dims().padId();
            System.arraycopy(p, 0, ids, r * maxLen + padLeft[r], p.length);
        }
        ResidualNorms out = new ResidualNorms(batch, lm.dims().layers());
        StepLayout layout = new StepLayout(batch, 0, maxLen, padLeft);
        try (KvCache cache = lm.newCache(batch, maxLen); Scope s = b.openScope()) {
            lm.forward(b.ints(ids, batch, maxLen), layout, cache, (layer, h, lay) -> {
                float[] n = b.toHost(b.steer(h, null, null, true).norms());
                for (int r = 0; r < batch; r++) {
                    for (int t = padLeft[r]; t < maxLen; t++) out.sum[r][layer] += n[r * maxLen + t];
                    out.last[r][layer] = n[r * maxLen + maxLen - 1];
                }
                return h;
            }, false);
        }
        for (int r = 0; r < batch; r++) out.count[r] = prompts.get(r).length;
        return out;
    }

    public double[] meanPerLayer(int prompt) {
        double[] m = new double[layers];
        for (int l = 0; l < layers; l++) m[l] = sum[prompt][l] / count[prompt];
        return m;
    }

    public double[] lastPerLayer(int prompt) {
        return last[prompt].clone();
    }

    /** Mean over every token of every prompt (BOS included). */
    public double[] overallMeanPerLayer() {
        double[] m = new double[layers];
        long n = 0;
        for (int c : count) n += c;
        for (int l = 0; l < layers; l++) {
            double s = 0;
            for (double[] row : sum) s += row[l];
            m[l] = s / n;
        }
        return m;
    }
}
