package dev.steer.engine.sweep;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.telemetry.HookTelemetry;

import java.util.ArrayList;
import java.util.List;

/**
 * The ‖h_L‖ a target ratio is converted with ({@code coef = ratio × ‖h_L‖ / ‖v‖}): the mean L2 norm of the unsteered
 * residual at {@code blocks.L.hook_resid_post} over every question token except a leading BOS, pooled over all
 * questions (each token weighs the same). Measured by the generation telemetry itself (prefill only), for all
 * requested layers in one pass per batch, so it uses the same convention as a run's live norm over its prompt.
 */
public final class QuestionNorms {
    private QuestionNorms() {
    }

    /** @return per entry of {@code layers}, the pooled mean ‖h‖ (NaN when no token counted) */
    public static double[] measure(CausalLm lm, List<int[]> prompts, int[] layers, int batchSize) {
        Generator gen = new Generator(lm);
        GenerationOptions opts = new GenerationOptions(1, 0, 1, 0, false, layers, false);
        double[] sum = new double[layers.length];
        long[] count = new long[layers.length];
        for (int from = 0; from < prompts.size(); from += batchSize) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (int[] p : prompts.subList(from, Math.min(prompts.size(), from + batchSize))) reqs.add(GenerationRequest.plain(p));
            for (GenerationResult r : gen.generate(reqs, opts)) {
                for (HookTelemetry t : r.telemetry()) {
                    for (int i = 0; i < layers.length; i++) {
                        if (layers[i] != t.layer() || t.promptCount() == 0) continue;
                        sum[i] += t.promptNormMean() * t.promptCount();
                        count[i] += t.promptCount();
                    }
                }
            }
        }
        double[] out = new double[layers.length];
        for (int i = 0; i < layers.length; i++) out[i] = count[i] == 0 ? Double.NaN : sum[i] / count[i];
        return out;
    }
}
