package dev.steer.engine.law;

/**
 * The ratio law's one formula: {@code ratio = |coef| × ‖v‖ / ‖h‖}, where ‖h‖ is {@code activation_norm}: the mean
 * L2 norm of the residual at the hooked layer over the prompt tokens, BOS excluded, before the add, measured live
 * ({@code dev.steer.engine.telemetry.ActivationNorm}). Unsigned: the sign of coef only says direction (adding or
 * suppressing the trait); strength is its magnitude. Every command, the store and the reports use this function.
 */
public final class PerturbationRatio {
    private PerturbationRatio() {
    }

    /** NaN when the norm is not a positive number ({@link #undefinedBecause} says why). */
    public static double ratio(double coef, double vectorNorm, double activationNorm) {
        if (!(activationNorm > 0) || Double.isInfinite(activationNorm)) return Double.NaN;
        return Math.abs(coef) * vectorNorm / activationNorm;
    }

    /** Why {@link #ratio} is NaN for this norm, or null when it is defined. */
    public static String undefinedBecause(double activationNorm) {
        if (Double.isNaN(activationNorm)) return "no token besides BOS was measured, so ||h|| is unknown";
        if (!(activationNorm > 0)) return "||h|| is " + activationNorm + ", so no ratio is defined";
        if (Double.isInfinite(activationNorm)) return "||h|| is infinite";
        return null;
    }

    /** The coefficient (non-negative) that gives {@code targetRatio}: {@code target × ‖h‖ / ‖v‖}. */
    public static double coefFor(double targetRatio, double vectorNorm, double activationNorm) {
        if (!(vectorNorm > 0)) throw new IllegalArgumentException("vector norm must be positive, was " + vectorNorm);
        return targetRatio * activationNorm / vectorNorm;
    }
}
