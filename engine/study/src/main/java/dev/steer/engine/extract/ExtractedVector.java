package dev.steer.engine.extract;

import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.steering.SteeringVector;

/**
 * One extraction result: the vector (a {@link SteeringVector} whose provenance names its layer, method and pooling)
 * and what a user needs to judge it.
 *
 * @param direction       the direction in the residual space of {@code layer} (blocks.L.hook_resid_post)
 * @param activationNorm  ‖h‖: the law's norm at the layer over every prompt token of both sets, BOS excluded
 *                        ({@link dev.steer.engine.telemetry.ActivationNorm})
 * @param heldoutAccuracy cross-validated accuracy ({@link Folds}) of the method as a classifier: the probe's own
 *                        decision, or for mean_diff the projection thresholded at the midpoint of the training
 *                        class means; NaN with fewer than 2 prompts on a side
 * @param trainAccuracy   the same rule fitted to and scored on all prompts
 * @param cohensD         Cohen's d of the projections onto v/‖v‖, positives against negatives, all prompts
 */
public record ExtractedVector(SteeringVector direction, int layer, Method method, Pooling pooling,
                              double activationNorm, double heldoutAccuracy, double trainAccuracy,
                              double cohensD, int positives, int negatives) {
    /** The values of {@link #direction}. */
    public float[] vector() {
        return direction.values();
    }

    /** ‖v‖ (L2) of {@link #direction}. */
    public double vectorNorm() {
        return direction.norm();
    }

    /** The perturbation ratio at coef 1, {@link PerturbationRatio}. */
    public double ratio() {
        return PerturbationRatio.ratio(1, direction.norm(), activationNorm);
    }
}
