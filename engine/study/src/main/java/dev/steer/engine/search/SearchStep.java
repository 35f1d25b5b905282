package dev.steer.engine.search;

/**
 * One evaluated step of one layer's search.
 *
 * @param coef         signed coefficient
 * @param nominalRatio {@code |coef| × ‖v‖ / ‖h_L‖} with ‖h_L‖ measured on the questions before the search
 * @param liveRatio    the run's live ratio (signed; ‖h‖ measured during the run over its steered positions)
 * @param coherent     mean coherence ≥ threshold
 * @param reused       the run was already stored (same config key) and not generated again
 */
public record SearchStep(int step, double coef, double nominalRatio, Double liveRatio, Double traitMean,
                         Double coherenceMean, boolean coherent, boolean reused, long runId) {
}
