package dev.steer.engine.extract;

/**
 * One extracted steering vector and what a user needs to judge it.
 *
 * @param vector          the direction in the residual space of {@code layer} (blocks.L.hook_resid_post)
 * @param vectorNorm      ‖v‖ (L2)
 * @param activationNorm  ‖h‖: mean residual norm at the layer over every prompt token of both sets, BOS
 *                        excluded (the ratio law's convention, see {@link ActivationCapture})
 * @param ratio           ‖v‖/‖h‖, the perturbation ratio at coef 1
 * @param heldoutAccuracy cross-validated accuracy ({@link Folds}) of the method as a classifier: the probe's own
 *                        decision, or for mean_diff the projection thresholded at the midpoint of the training
 *                        class means; NaN with fewer than 2 prompts on a side
 * @param trainAccuracy   the same rule fitted to and scored on all prompts
 * @param cohensD         Cohen's d of the projections onto v/‖v‖, positives against negatives, all prompts
 */
public record ExtractedVector(int layer, Method method, Pooling pooling, float[] vector, double vectorNorm,
                              double activationNorm, double ratio, double heldoutAccuracy, double trainAccuracy,
                              double cohensD, int positives, int negatives) {
}
