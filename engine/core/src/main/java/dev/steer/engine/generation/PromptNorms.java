package dev.steer.engine.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.steering.SteeringPlan;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.telemetry.ActivationNorm;
import dev.steer.engine.telemetry.LayerNorms;
import dev.steer.engine.telemetry.NormTelemetry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * ‖h‖ of unsteered prompts at chosen layers, measured in left-padded prefill passes of at most {@code batchSize}
 * prompts (batched in order of length, so rows waste little padding) by the same hook and {@link NormTelemetry} as
 * generation: what {@code steer norms}, {@code steer ratio} and extraction report, so their activation norms equal
 * a generation's {@code prompt_norm_mean} for the same prompt. A {@link Capture} may read the residuals of the same
 * passes (extraction's feature vectors).
 */
public final class PromptNorms {
    public static final int DEFAULT_BATCH = 16;

    /** Sees each pass's residual at each measured layer, on the host. */
    @FunctionalInterface
    public interface Capture {
        /**
         * @param h       the residual after {@code layer} [rows, length, hidden], row-major, padding included
         * @param padded  the pass's prompts as laid out
         * @param prompts for each row of the pass, its index in the measured prompt list
         */
        void capture(int layer, float[] h, PaddedPrompts padded, List<Integer> prompts);
    }

    private final int[] layers;
    private final LayerNorms[][] norms;   // [prompt][index of layer]

    private PromptNorms(int[] layers, int prompts) {
        this.layers = layers.clone();
        this.norms = new LayerNorms[prompts][layers.length];
    }

    /** {@code BadInputException} naming {@code flag} when a layer is out of range. */
    public static PromptNorms measure(CausalLm lm, List<int[]> prompts, int[] layers, int batchSize, String flag) {
        return measure(lm, prompts, layers, batchSize, flag, null, (n, tokens) -> { });
    }

    /** As above; {@code capture} (may be null) reads the residuals, {@code progress} gets (prompts, tokens) per pass. */
    public static PromptNorms measure(CausalLm lm, List<int[]> prompts, int[] layers, int batchSize, String flag,
                                      Capture capture, java.util.function.BiConsumer<Integer, Integer> progress) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to measure");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
        if (layers.length == 0) throw new IllegalArgumentException("no layers to measure");
        for (int l : layers) HookPoint.residPost(l).checkIn(lm.dims(), flag);
        for (int[] p : prompts) lm.dims().checkContext(p.length, 0);
        PromptNorms out = new PromptNorms(layers, prompts.size());
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> prompts.get(i).length));
        for (int from = 0; from < order.length; from += batchSize) {
            List<Integer> rows = Arrays.asList(order).subList(from, Math.min(order.length, from + batchSize));
            List<int[]> batch = new ArrayList<>();
            for (int i : rows) batch.add(prompts.get(i));
            out.pass(lm, batch, rows, null, capture);
            progress.accept(batch.size(), batch.stream().mapToInt(p -> p.length).sum());
        }
        return out;
    }

    /** One prefill of {@code prompts}; {@code steering}: per row its specs, or null for none. */
    private void pass(CausalLm lm, List<int[]> prompts, List<Integer> index, List<List<SteeringSpec>> steering, Capture capture) {
        Backend b = lm.backend();
        PaddedPrompts padded = PaddedPrompts.of(prompts, lm.dims().padId());
        List<List<SteeringSpec>> rows = steering != null ? steering : new ArrayList<>(Collections.nCopies(padded.batch(), List.of()));
        SteeringPlan plan = SteeringPlan.of(rows, layers, lm.dims());
        NormTelemetry telemetry = new NormTelemetry(lm.dims().layers(), NormTelemetry.startsWithBos(padded, lm.dims().bosId()));
        StepHook.Observer observer = capture == null ? null
                : (layer, h, layout) -> capture.capture(layer, b.toHost(h), padded, index);
        StepHook hook = new StepHook(b, plan, telemetry, lm.dims().hidden(), observer);
        try (KvCache cache = lm.newCache(padded.batch(), padded.length()); Scope s = b.openScope()) {
            hook.upload();
            StepLayout layout = padded.layout();
            lm.forward(padded.upload(b), layout, cache, hook, false);
            hook.collect();
        }
        for (int r = 0; r < padded.batch(); r++)
            for (int li = 0; li < layers.length; li++) norms[index.get(r)][li] = telemetry.at(r, layers[li]);
    }

    /** The law's norm of {@code prompts} at one layer ({@code BadInputException} naming {@code --layer} when out of range). */
    public static ActivationNorm activationNorm(CausalLm lm, List<int[]> prompts, int layer, int batchSize) {
        return measure(lm, prompts, new int[] {layer}, batchSize, "--layer").activationNorm(layer);
    }

    /**
     * The law's norm of one prompt at {@code layer} in a forward steered by {@code specs}: what a ratio-mode spec
     * resolves its coefficient from (the adds at earlier layers count; those at {@code layer} come after the norm).
     */
    public static ActivationNorm steeredActivationNorm(CausalLm lm, int[] prompt, List<SteeringSpec> specs, int layer) {
        PromptNorms out = new PromptNorms(new int[] {layer}, 1);
        out.pass(lm, List.of(prompt), List.of(0), List.of(specs), null);
        return out.activationNorm(layer);
    }

    /** Every layer's norms of {@code prompts}, as {@code steer norms} measures them. */
    public static PromptNorms everyLayer(CausalLm lm, List<int[]> prompts) {
        int[] all = java.util.stream.IntStream.range(0, lm.dims().layers()).toArray();
        return measure(lm, prompts, all, DEFAULT_BATCH, "--layers");
    }

    /** Per measured layer: prompt {@code p}'s mean ‖h‖ over all its tokens, BOS included ({@code resid_norm_mean}). */
    public double[] meanPerLayer(int p) {
        double[] m = new double[layers.length];
        for (int i = 0; i < m.length; i++) m[i] = norms[p][i].promptMeanWithBos();
        return m;
    }

    /** Per measured layer: prompt {@code p}'s ‖h‖ at its last token ({@code resid_norm_last}). */
    public double[] lastPerLayer(int p) {
        double[] m = new double[layers.length];
        for (int i = 0; i < m.length; i++) m[i] = norms[p][i].lastPrompt();
        return m;
    }

    /** Per measured layer: the mean over every token of every prompt, BOS included ({@code activation_norm_mean}). */
    public double[] overallMeanPerLayer() {
        double[] m = new double[layers.length];
        for (int i = 0; i < m.length; i++) {
            double s = 0;
            long n = 0;
            for (LayerNorms[] p : norms) {
                double withBos = p[i].promptMeanWithBos();
                long tokens = p[i].tokensWithBos();
                s += withBos * tokens;
                n += tokens;
            }
            m[i] = n == 0 ? Double.NaN : s / n;
        }
        return m;
    }

    /** Per measured layer: the law's norm ({@link #activationNorm}). */
    public double[] activationNormPerLayer() {
        double[] m = new double[layers.length];
        for (int i = 0; i < m.length; i++) m[i] = activationNorm(layers[i]).mean();
        return m;
    }

    public int[] layers() {
        return layers.clone();
    }

    public int prompts() {
        return norms.length;
    }

    /** What prompt {@code p} measured at {@code layer}. */
    public LayerNorms at(int p, int layer) {
        return norms[p][index(layer)];
    }

    /** The law's norm at {@code layer}, pooled over every prompt's tokens (BOS excluded). */
    public ActivationNorm activationNorm(int layer) {
        List<LayerNorms> rows = new ArrayList<>();
        for (LayerNorms[] p : norms) rows.add(p[index(layer)]);
        return ActivationNorm.pooled(layer, rows);
    }

    private int index(int layer) {
        for (int i = 0; i < layers.length; i++) if (layers[i] == layer) return i;
        throw new IllegalArgumentException("layer " + layer + " was not measured (measured: " + Arrays.toString(layers) + ")");
    }
}
