package dev.steer.engine.steering;

import dev.steer.engine.BadInputException;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.ModelDims;

/**
 * Adds {@code coef × vector} to the residual stream at {@code blocks.<layer>.hook_resid_post}, at the given
 * positions. A row may carry several specs; every row of a batch may carry different ones. The layer is the spec's,
 * not the vector's: a vector may be applied at another layer than the one its provenance names.
 * Coef is checked here, once (finite, and |coef| × ‖v‖ squared finite in float32); the layer and the vector's length against a model by {@link #checkAgainst}
 * (once, when a {@link SteeringPlan} is made).
 */
public record SteeringSpec(int layer, SteeringVector vector, double coef, Positions positions) {
    public SteeringSpec {
        if (!Double.isFinite(coef)) throw new BadInputException("--steer: coefficient " + coef + " is not a finite number");
        // The residual is float32 and every layer squares it (RMSNorm, ||h||): the delta's squared norm must be finite
        // in float32, or the run gives empty text with exit 0.
        double size = Math.abs(coef) * vector.norm();
        if (!((float) (size * size) < Float.POSITIVE_INFINITY))
            throw new BadInputException("--steer: coefficient " + coef + " times the vector's norm " + vector.norm()
                    + " overflows float32 when squared (the residual stream's type; RMSNorm squares it)");
    }

    public HookPoint hookPoint() {
        return HookPoint.residPost(layer);
    }

    /** Throws a {@link BadInputException} naming the vector's source when the spec does not fit the model. */
    public void checkAgainst(ModelDims dims) {
        hookPoint().checkIn(dims, "--steer " + vector.source());
        if (vector.size() != dims.hidden())
            throw new BadInputException(vector.source() + ": vector has " + vector.size() + " elements, the model's hidden size is " + dims.hidden());
    }
}
