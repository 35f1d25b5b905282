package dev.steer.engine.search;

import dev.steer.engine.BadInputException;

/**
 * The adaptive search of DESIGN.md. Start at {@code startFraction × coef_for(ratio 1)} per layer; after each step
 * multiply the coef's magnitude by {@code grow} when the step's mean coherence is ≥ {@code threshold}, else by
 * {@code shrink}. With {@code momentum} μ the multiplier remembers earlier steps in log space:
 * {@code v_t = μ·v_{t−1} + ln(f_t)}, {@code |coef_{t+1}| = |coef_t|·exp(v_t)} (f_t = grow or shrink); μ = 0 is the
 * plain rule. A step whose coherence is unscored counts as incoherent.
 *
 * @param steps evaluated steps per layer (the last one's successor is not evaluated)
 */
public record SearchSettings(int steps, double threshold, double grow, double shrink, double momentum,
                             double startFraction, Direction direction) {
    public static final int DEFAULT_STEPS = 8;
    public static final double DEFAULT_THRESHOLD = 70;
    public static final double GROW = 1.3;
    public static final double SHRINK = 0.85;
    public static final double START_FRACTION = 0.7;

    public SearchSettings {
        if (steps < 1) throw new BadInputException("--steps: must be at least 1, was " + steps);
        if (!(threshold >= 0 && threshold <= 100))
            throw new BadInputException("--coherence-threshold: must be in 0..100, was " + threshold);
        if (!(momentum >= 0 && momentum < 1)) throw new BadInputException("--momentum: must be in [0, 1), was " + momentum);
        if (!(grow > 1) || !(shrink > 0 && shrink < 1))
            throw new IllegalArgumentException("grow must exceed 1 and shrink lie in (0, 1), were " + grow + ", " + shrink);
        if (!(startFraction > 0)) throw new IllegalArgumentException("start fraction must be positive, was " + startFraction);
    }

    public static SearchSettings defaults(Direction direction) {
        return new SearchSettings(DEFAULT_STEPS, DEFAULT_THRESHOLD, GROW, SHRINK, 0, START_FRACTION, direction);
    }

    public SearchSettings withSteps(int n) {
        return new SearchSettings(n, threshold, grow, shrink, momentum, startFraction, direction);
    }

    public SearchSettings withThreshold(double t) {
        return new SearchSettings(steps, t, grow, shrink, momentum, startFraction, direction);
    }

    public SearchSettings withMomentum(double m) {
        return new SearchSettings(steps, threshold, grow, shrink, m, startFraction, direction);
    }

    /** Whether a step with this mean coherence (null: unscored) may grow. */
    public boolean coherent(Double coherenceMean) {
        return coherenceMean != null && coherenceMean >= threshold;
    }

    /** The search state of one layer between steps: |coef| and the log-space velocity. */
    public record Stride(double magnitude, double velocity) {
        public Stride next(boolean coherent, SearchSettings s) {
            double v = s.momentum() * velocity + Math.log(coherent ? s.grow() : s.shrink());
            return new Stride(magnitude * Math.exp(v), v);
        }
    }
}
