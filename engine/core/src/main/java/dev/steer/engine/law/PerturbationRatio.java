package dev.steer.engine.law;

/**
 * The ratio law's one formula: {@code ratio = |coef| × ‖v‖ / ‖h‖}, where ‖h‖ is the mean L2 norm of the
 * residual stream at the hooked layer over the steered positions (BOS excluded), measured live.
 * The sign of coef only says direction (adding or suppressing the trait); strength is its magnitude.
 */
public final class PerturbationRatio {
    private PerturbationRatio() {
    }

    public static double ratio(double coef, double vectorNorm, double activationNorm) {
        if (!(activationNorm > 0)) return Double.NaN;
        return Math.abs(coef) * vectorNorm / activationNorm;
    }

    /** The coefficient (non-negative) that gives {@code targetRatio}: {@code target × ‖h‖ / ‖v‖}. */
    public static double coefFor(double targetRatio, double vectorNorm, double activationNorm) {
        if (!(vectorNorm > 0)) throw new IllegalArgumentException("vector norm must be positive, was " + vectorNorm);
        return targetRatio * activationNorm / vectorNorm;
    }
}
