package dev.steer.engine.extract;

import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.generation.PromptNorms;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.telemetry.ActivationNorm;

import java.util.Arrays;
import java.util.List;

/**
 * Residual activations (blocks.L.hook_resid_post) of a set of prompts at chosen layers, read from the prefill
 * passes of {@link PromptNorms}, which also measures their norms: every layer comes from the same passes.
 *
 * <p>Per prompt and layer one feature vector [H] ({@link Pooling}): the last token's residual, or the mean over all
 * the prompt's tokens, BOS included, accumulated in double. Alongside, the law's activation norm
 * ({@link ActivationNorm}: prompt tokens, BOS excluded, pooled), measured by the one norm path generation uses.
 */
public final class ActivationCapture {
    private final int[] layers;
    private final float[][][] features;   // [layer index][prompt][hidden]
    private final PromptNorms norms;

    private ActivationCapture(int[] layers, float[][][] features, PromptNorms norms) {
        this.layers = layers;
        this.features = features;
        this.norms = norms;
    }

    /**
     * @param layers model layers to capture (checked against the model: {@code BadInputException} naming
     *               {@code --layers} when out of range)
     */
    public static ActivationCapture capture(CausalLm lm, List<int[]> prompts, int[] layers, Pooling pos, int batchSize) {
        return capture(lm, prompts, layers, pos, batchSize, (n, tokens) -> { });
    }

    /** As above, calling {@code progress} with (prompts, tokens) after every batched pass. */
    public static ActivationCapture capture(CausalLm lm, List<int[]> prompts, int[] layers, Pooling pos, int batchSize,
                                            java.util.function.BiConsumer<Integer, Integer> progress) {
        if (layers.length == 0) throw new IllegalArgumentException("no layers to capture");
        int hidden = lm.dims().hidden();
        int[] sorted = layers.clone();
        float[][][] features = new float[layers.length][prompts.size()][hidden];
        PromptNorms.Capture capture = (layer, x, padded, index) -> {
            int li = indexOf(sorted, layer);
            if (li >= 0) read(x, padded, index, features[li], pos, hidden);
        };
        PromptNorms norms = PromptNorms.measure(lm, prompts, layers, batchSize, "--layers", capture, progress);
        return new ActivationCapture(sorted, features, norms);
    }

    private static void read(float[] x, PaddedPrompts padded, List<Integer> index, float[][] out, Pooling pos, int hidden) {
        int len = padded.length();
        for (int r = 0; r < padded.batch(); r++) {
            int start = padded.padLeft()[r];
            float[] f = out[index.get(r)];
            if (pos == Pooling.LAST) {
                System.arraycopy(x, ((r * len) + len - 1) * hidden, f, 0, hidden);
            } else {
                double[] sum = new double[hidden];
                for (int t = start; t < len; t++) {
                    int at = (r * len + t) * hidden;
                    for (int i = 0; i < hidden; i++) sum[i] += x[at + i];
                }
                for (int i = 0; i < hidden; i++) f[i] = (float) (sum[i] / (len - start));
            }
        }
    }

    private static int indexOf(int[] layers, int layer) {
        for (int i = 0; i < layers.length; i++) if (layers[i] == layer) return i;
        return -1;
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

    /** The law's norm at {@code layer}: mean ‖h‖ over every prompt token except a leading BOS (NaN when there is none). */
    public double activationNorm(int layer) {
        return norms.activationNorm(layer).mean();
    }

    /** How many tokens {@link #activationNorm} averages over. */
    public long normTokens() {
        return norms.activationNorm(layers[0]).tokens();
    }

    private int index(int layer) {
        int i = indexOf(layers, layer);
        if (i < 0) throw new IllegalArgumentException("layer " + layer + " was not captured (captured: " + Arrays.toString(layers) + ")");
        return i;
    }
}
