package dev.steer.engine.steering;

import dev.steer.engine.BadInputException;

/**
 * A steering spec given by its perturbation ratio instead of its coefficient: {@code coef = ratio × ‖h‖ / ‖v‖},
 * with ‖h‖ the request's own {@code activation_norm} at {@code layer} (its prompt tokens, BOS excluded), measured just
 * before that layer's add and after the adds of earlier layers the request also steers. A negative ratio steers
 * the negative direction. Resolved once per request, before its first token; the coef then holds for every token.
 */
public record RatioSpec(int layer, SteeringVector vector, double ratio, Positions positions) {
    public RatioSpec {
        if (!Double.isFinite(ratio)) throw new BadInputException("--steer: ratio " + ratio + " is not a finite number");
        if (!(vector.norm() > 0)) throw new BadInputException(vector.source() + ": the vector is all zeros, so no coefficient reaches a ratio");
    }

    /** The spec with its coefficient resolved from the measured norm. */
    public SteeringSpec resolve(double activationNorm) {
        // The add's norm is |ratio| x ||h||: where it overflows, say so in the ratio the user gave, not in the
        // coefficient (Infinity) nobody typed.
        double size = Math.abs(ratio) * activationNorm;
        if (Double.isFinite(activationNorm) && !((float) (size * size) < Float.POSITIVE_INFINITY))
            throw new BadInputException("--steer: ratio " + ratio + " at layer " + layer + " asks for an add of norm |ratio| x ||h|| = "
                    + size + " (||h|| = " + activationNorm + " on this prompt), which overflows float32 when squared (the residual "
                    + "stream's type; RMSNorm squares it)");
        return new SteeringSpec(layer, vector, ratio * activationNorm / vector.norm(), positions);
    }
}
