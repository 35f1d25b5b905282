package dev.steer.engine.report;

import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Recommended ratio ranges for one trait (or all runs), chosen from the validation table.
 *
 * <p>Each is found the same way: walk the non-empty buckets from the lowest ratio up while they pass a test, and
 * take the last one that passed. Stopping at the first failure (rather than taking the highest passing bucket
 * anywhere) keeps a lucky high-ratio bucket past the cliff from being recommended. Effects grow with ratio, so
 * the highest passing bucket is the strongest steering that still meets the test. A spot is null when the
 * lowest non-empty bucket already fails (or there are no runs).
 * <ul>
 *   <li>conservative: at least 90% of runs coherent (coherence ≥ the report's threshold, 70 by default);</li>
 *   <li>balanced: at least half of runs coherent;</li>
 *   <li>aggressive: average coherence at least {@link Cliff#BROKEN} (50), i.e. not broken on average, and at least
 *   one coherent run: a bucket where every run is incoherent is recommended for nothing, whatever its average.</li>
 * </ul>
 * On DESIGN.md's table these give its stated sweet spots: 0.3-0.5, 0.8-1.0 and 1.0-1.3.
 */
public record SweetSpots(RatioBucket conservative, RatioBucket balanced, RatioBucket aggressive) {
    public static final double CONSERVATIVE_PCT = 90.0;
    public static final double BALANCED_PCT = 50.0;

    public static SweetSpots choose(List<BucketStats> table) {
        return new SweetSpots(
                lastPassing(table, b -> b.pctCoherent() >= CONSERVATIVE_PCT),
                lastPassing(table, b -> b.pctCoherent() >= BALANCED_PCT),
                lastPassing(table, b -> b.avgCoherence() >= Cliff.BROKEN && b.pctCoherent() > 0));
    }

    /** The rule in words, printed with the result so a reader knows what "sweet spot" claims. */
    public static String rule(double threshold) {
        String t = String.format(Locale.ROOT, "%.0f", threshold);
        return "each spot is the highest-ratio bucket reached walking up from the lowest non-empty bucket while every "
                + "bucket passes: conservative >= 90% of runs coherent (coherence >= " + t + "), balanced >= 50% coherent, "
                + "aggressive mean coherence >= 50 with at least one coherent run";
    }

    private static RatioBucket lastPassing(List<BucketStats> table, Predicate<BucketStats> test) {
        RatioBucket last = null;
        for (BucketStats b : table) {
            if (b.count() == 0) continue;
            if (!test.test(b)) break;
            last = b.bucket();
        }
        return last;
    }
}
