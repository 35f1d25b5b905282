package dev.steer.engine.search;

/**
 * One evaluated step of one layer's search.
 *
 * @param coef         signed coefficient
 * @param nominalRatio {@code |coef| × ‖v‖ / ‖h_L‖} with ‖h_L‖ measured on the questions before the search
 * @param ratio        the run's ratio, {@code |coef| × ‖v‖ / activation_norm} measured live in the run
 * @param steeredRatio the run's ratio over its steered positions (response included), printed as live_ratio
 * @param coherent     mean coherence ≥ threshold
 * @param reused       the run was already stored (same config key) and not generated again
 */
public record SearchStep(int step, double coef, double nominalRatio, Double ratio, Double steeredRatio, Double traitMean,
                         Double coherenceMean, boolean coherent, boolean reused, long runId) {
}
