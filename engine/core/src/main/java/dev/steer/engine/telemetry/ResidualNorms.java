package dev.steer.engine.telemetry;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Scope;
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
        PaddedPrompts padded = PaddedPrompts.of(prompts, lm.dims().padId());
        int batch = padded.batch();
        int maxLen = padded.length();
        int[] padLeft = padded.padLeft();
        ResidualNorms out = new ResidualNorms(batch, lm.dims().layers());
        try (KvCache cache = lm.newCache(batch, maxLen); Scope s = b.openScope()) {
            lm.forward(padded.upload(b), padded.layout(), cache, (layer, h, lay) -> {
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
