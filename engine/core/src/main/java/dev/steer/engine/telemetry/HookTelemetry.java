package dev.steer.engine.telemetry;

/**
 * What one row measured at one hook point during a run: mean ‖h‖ (L2 over the hidden dimension, BEFORE the
 * steering add, BOS and padding excluded) over prompt and response positions, and the live perturbation ratio
 * {@code |coef| × ‖v‖ / mean ‖h‖ over the positions the spec steers}. Unsteered hooks have coef 0 and ratio 0.
 */
public record HookTelemetry(String hook, int layer, double coef, double vectorNorm, double promptNormMean,
                            long promptCount, double responseNormMean, long responseCount,
                            double steeredNormMean, double liveRatio) {
}
