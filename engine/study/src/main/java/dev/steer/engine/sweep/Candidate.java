package dev.steer.engine.sweep;

import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;

import java.util.List;

/**
 * One configuration to evaluate on every question: {@code coef × vector} added at {@code blocks.layer.hook_resid_post},
 * or nothing at all (the baseline: layer and vector null, coef 0). Coef is signed; negative suppresses the trait.
 */
public record Candidate(Integer layer, SteeringVector vector, double coef) {
    public Candidate {
        if ((layer == null) != (vector == null)) throw new IllegalArgumentException("layer and vector go together");
        if (!Double.isFinite(coef)) throw new IllegalArgumentException("coef must be finite, was " + coef);
    }

    public static Candidate baseline() {
        return new Candidate(null, null, 0);
    }

    public boolean steered() {
        return layer != null;
    }

    /** The steering one row carries for this candidate: none for the baseline. */
    public List<SteeringSpec> specs(Positions positions) {
        return steered() ? List.of(new SteeringSpec(layer, vector, coef, positions)) : List.of();
    }

    @Override
    public String toString() {
        return steered() ? "layer " + layer + " coef " + coef : "baseline";
    }
}
