package dev.steer.engine.report;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The coherence cliff: the perturbation ratio where steered runs stop being coherent on average.
 *
 * <p>Definition: sort the runs by ratio (ascending; ties keep their given order). Slide a window of {@code w}
 * consecutive runs over that order, from the lowest ratios up, where {@code w} is the requested window or the
 * number of runs when there are fewer. The cliff is the ratio of the first (lowest-ratio) run of the first window
 * whose mean coherence is below {@link #BROKEN} (50). No such window (or no runs): no cliff.
 *
 * <p>Why a window and not a single run: one incoherent answer set at a low ratio is noise; w runs averaging below
 * 50 is a regime. Why the window's first run: it is the lowest ratio from which the model is, on average, broken.
 *
 * @param ratio          the cliff ratio
 * @param window         the window size actually used
 * @param meanCoherence  the mean coherence of that first broken window (&lt; 50)
 */
public record Cliff(double ratio, int window, double meanCoherence) {
    /** Mean coherence below this (0-100 judge scale) counts as broken. */
    public static final double BROKEN = 50.0;
    public static final int DEFAULT_WINDOW = 5;

    public static Optional<Cliff> find(List<RunPoint> points) {
        return find(points, DEFAULT_WINDOW);
    }

    public static Optional<Cliff> find(List<RunPoint> points, int window) {
        if (window < 1) throw new IllegalArgumentException("window must be >= 1, got " + window);
        if (points.isEmpty()) return Optional.empty();
        List<RunPoint> sorted = points.stream().sorted(Comparator.comparingDouble(RunPoint::ratio)).toList();
        int w = Math.min(window, sorted.size());
        for (int start = 0; ; start++) {
            // Recompute each window from its members rather than a running sum, so no rounding drift decides
            // a window that sits exactly on the threshold.
            double mean = meanCoherence(sorted, start, w);
            if (mean < BROKEN) return Optional.of(new Cliff(sorted.get(start).ratio(), w, mean));
            if (start + w >= sorted.size()) return Optional.empty();
        }
    }

    private static double meanCoherence(List<RunPoint> sorted, int start, int w) {
        double sum = 0;
        for (int i = start; i < start + w; i++) sum += sorted.get(i).coherence();
        return sum / w;
    }
}
