package dev.steer.engine.telemetry;

import dev.steer.engine.law.PerturbationRatio;

/**
 * What one row measured for one steering spec (or, where the row steers nothing at a hooked layer, for that layer
 * with coef 0): ‖h‖ before the add, BOS and padding excluded, over prompt and response tokens.
 * {@code activationNorm} is the law's norm (the prompt tokens' mean, {@link ActivationNorm}) and
 * {@code ratio = |coef| × ‖v‖ / activationNorm} ({@link PerturbationRatio}); {@code steeredNormMean} is the mean
 * over the positions the spec steers (response tokens included, which steering itself shaped) and
 * {@code steeredRatio} its ratio, printed also as {@code live_ratio}. Several specs at one layer are one entry each.
 *
 * @param positions all, prompt or response; null for an unsteered entry
 */
public record HookTelemetry(String hook, int layer, double coef, double vectorNorm, String positions,
                            double promptNormMean, long promptCount, double responseNormMean, long responseCount,
                            double steeredNormMean, double ratio, double steeredRatio) {
    /** An entry from a row's norms at the spec's layer; {@code prompt}/{@code response}: the positions it steers. */
    public static HookTelemetry of(String hook, int layer, double coef, double vectorNorm, String positions,
                                   boolean prompt, boolean response, LayerNorms n) {
        double steered = n.mean(prompt, response);
        return new HookTelemetry(hook, layer, coef, vectorNorm, positions, n.promptMean(), n.promptCount(),
                n.responseMean(), n.responseCount(), steered, PerturbationRatio.ratio(coef, vectorNorm, n.promptMean()),
                PerturbationRatio.ratio(coef, vectorNorm, steered));
    }

    /** The law's norm: {@link #promptNormMean}. */
    public double activationNorm() {
        return promptNormMean;
    }

    /** The ratio over the steered positions, as earlier versions named it. */
    public double liveRatio() {
        return steeredRatio;
    }
}
