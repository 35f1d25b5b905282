package dev.steer.engine.generation;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Temperature and nucleus (top-p) sampling on the host, in double precision. */
final class Sampler {
    private Sampler() {
    }

    static int sample(float[] logits, int offset, int vocab, double temperature, double topP, SplittableRandom rng) {
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
        double u = rng.nextDouble() * sum;
        double acc = 0;
        for (int k = 0; k < keep; k++) {
            int id = order == null ? k : order[k];
            acc += p[id];
            if (u < acc) return id;
        }
        return order == null ? vocab - 1 : order[keep - 1];
    }
}
