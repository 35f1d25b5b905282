package dev.steer.engine.extract;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.HookPoint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Residual activations (blocks.L.hook_resid_post) of a set of prompts at chosen layers, captured in left-padded
 * prefill passes of at most {@code batchSize} prompts; prompts are batched in order of length so rows waste
 * little padding. Every layer is read from the same passes.
 *
 * <p>Per prompt and layer one feature vector [H] ({@link Pooling}): the last token's residual, or the mean
 * over all the prompt's tokens, BOS included, accumulated in double. Alongside, the activation norm the ratio
 * law uses: mean ‖h‖ (L2 over hidden) over every prompt token EXCEPT a leading BOS, pooled over all prompts
 * (each token weighs the same) — the convention of {@code BatchSteering} telemetry and
 * {@link dev.steer.engine.law.PerturbationRatio}, not the BOS-included per-prompt mean of {@code steer norms}.
 */
public final class ActivationCapture {
    private final int[] layers;
    private final float[][][] features;   // [layer index][prompt][hidden]
    private final double[] normSum;       // [layer index]
    private long normTokens;

    private ActivationCapture(int[] layers, int prompts, int hidden) {
        this.layers = layers.clone();
        this.features = new float[layers.length][prompts][hidden];
        this.normSum = new double[layers.length];
    }

    /**
     * @param layers model layers to capture (checked against the model: {@code BadInputException} naming
     *               {@code --layers} when out of range)
     */
    public static ActivationCapture capture(CausalLm lm, List<int[]> prompts, int[] layers, Pooling pooling, int batchSize) {
        return capture(lm, prompts, layers, pooling, batchSize, (n, tokens) -> { });
    }

    /** As above, calling {@code progress} with (prompts, tokens) after every batched pass. */
    public static ActivationCapture capture(CausalLm lm, List<int[]> prompts, int[] layers, Pooling pooling, int batchSize,
                                            java.util.function.BiConsumer<Integer, Integer> progress) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to capture");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
        if (layers.length == 0) throw new IllegalArgumentException("no layers to capture");
        for (int l : layers) HookPoint.residPost(l).checkIn(lm.dims(), "--layers");
        int hidden = lm.dims().hidden();
        ActivationCapture out = new ActivationCapture(layers, prompts.size(), hidden);
        int[] slot = new int[lm.dims().layers()];
        Arrays.fill(slot, -1);
        for (int i = 0; i < layers.length; i++) slot[layers[i]] = i;

        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> prompts.get(i).length));
        for (int from = 0; from < order.length; from += batchSize) {
            List<Integer> rows = Arrays.asList(order).subList(from, Math.min(order.length, from + batchSize));
            List<int[]> batch = new ArrayList<>();
            for (int i : rows) batch.add(prompts.get(i));
            out.pass(lm, batch, rows, slot, pooling);
            progress.accept(batch.size(), batch.stream().mapToInt(p -> p.length).sum());
        }
        return out;
    }

    private void pass(CausalLm lm, List<int[]> prompts, List<Integer> promptIndex, int[] slot, Pooling pooling) {
        Backend b = lm.backend();
        PaddedPrompts padded = PaddedPrompts.of(prompts, lm.dims().padId());
        int bosId = lm.dims().bosId();
        int len = padded.length();
        int hidden = lm.dims().hidden();
        try (KvCache cache = lm.newCache(padded.batch(), len); Scope s = b.openScope()) {
            lm.forward(padded.upload(b), padded.layout(), cache, (layer, h, layout) -> {
                int li = slot[layer];
                if (li < 0) return h;
                float[] x = b.toHost(h);
                for (int r = 0; r < padded.batch(); r++) {
                    int start = padded.padLeft()[r];
                    float[] f = features[li][promptIndex.get(r)];
                    if (pooling == Pooling.LAST) {
                        System.arraycopy(x, ((r * len) + len - 1) * hidden, f, 0, hidden);
                    } else {
                        double[] sum = new double[hidden];
                        for (int t = start; t < len; t++) {
                            int at = (r * len + t) * hidden;
                            for (int i = 0; i < hidden; i++) sum[i] += x[at + i];
                        }
                        for (int i = 0; i < hidden; i++) f[i] = (float) (sum[i] / (len - start));
                    }
                    int firstCounted = padded.firstToken(r) == bosId ? start + 1 : start;
                    for (int t = firstCounted; t < len; t++) {
                        int at = (r * len + t) * hidden;
                        double sq = 0;
                        for (int i = 0; i < hidden; i++) sq += (double) x[at + i] * x[at + i];
                        normSum[li] += Math.sqrt(sq);
                    }
                }
                return h;
            }, false);
        }
        for (int[] p : prompts) normTokens += p.length - (p[0] == bosId ? 1 : 0);
    }

    public int[] layers() {
        return layers.clone();
    }

    public int size() {
        return features[0].length;
    }

    /** Feature vectors of every prompt at model layer {@code layer}, [prompt][hidden], in the prompts' order. */
    public float[][] features(int layer) {
        return features[index(layer)];
    }

    /** Mean ‖h‖ at {@code layer} over every prompt token except a leading BOS (NaN when there is none). */
    public double activationNorm(int layer) {
        return normTokens == 0 ? Double.NaN : normSum[index(layer)] / normTokens;
    }

    /** How many tokens {@link #activationNorm} averages over. */
    public long normTokens() {
        return normTokens;
    }

    private int index(int layer) {
        for (int i = 0; i < layers.length; i++) if (layers[i] == layer) return i;
        throw new IllegalArgumentException("layer " + layer + " was not captured (captured: " + Arrays.toString(layers) + ")");
    }
}
