package dev.steer.engine.extract;

/**
 * How far a held-out accuracy over few prompts can stray from chance by luck alone, and when that is too far for it
 * to mean anything. Every prompt is held out exactly once ({@link Folds}), so the accuracy is a proportion over
 * N = n_pos + n_neg predictions; at chance (p = 0.5) its 95% margin is 1.96 × √(0.25 / N) = 0.98 / √N. The rule:
 * the accuracy is reported as meaningful when that margin is at most {@link #MAX_MARGIN} (0.15), which takes
 * N ≥ {@link #MIN_PROMPTS} (43: about 22 pairs); below that a classifier no better than a coin can score 0.65.
 * With fewer than 2 prompts on a side there is no held-out accuracy at all (NaN).
 */
public final class HeldoutMargin {
    public static final double MAX_MARGIN = 0.15;
    public static final int MIN_PROMPTS = 43;

    private HeldoutMargin() {
    }

    /** The 95% margin of a held-out accuracy over {@code positives + negatives} predictions, at chance. */
    public static double at95(int positives, int negatives) {
        int n = positives + negatives;
        return n == 0 ? Double.POSITIVE_INFINITY : 1.96 * Math.sqrt(0.25 / n);
    }

    /** Whether the held-out accuracy of sets this size can be told from chance by the rule above. */
    public static boolean meaningful(int positives, int negatives) {
        return Math.min(positives, negatives) >= 2 && at95(positives, negatives) <= MAX_MARGIN;
    }
}
