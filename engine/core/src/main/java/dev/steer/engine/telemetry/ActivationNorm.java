package dev.steer.engine.telemetry;

import java.util.List;

/**
 * The ‖h‖ of the ratio law, {@code activation_norm}: the mean L2 norm of the residual at blocks.L.hook_resid_post,
 * before that layer's steering add, over prompt tokens with a leading BOS excluded, pooled over prompts so each
 * token weighs the same. Gemma's BOS carries a far larger norm than the rest, so including it would move every ratio.
 *
 * @param tokens how many tokens the mean is over (0: NaN)
 */
public record ActivationNorm(int layer, double mean, long tokens) {
    /** Pools the prompt tokens of several rows' norms at {@code layer}. */
    public static ActivationNorm pooled(int layer, List<LayerNorms> rows) {
        double sum = 0;
        long tokens = 0;
        for (LayerNorms n : rows) {
            sum += n.promptSum();
            tokens += n.promptCount();
        }
        return new ActivationNorm(layer, tokens == 0 ? Double.NaN : sum / tokens, tokens);
    }
}
