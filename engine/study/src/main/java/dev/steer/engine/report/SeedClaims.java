package dev.steer.engine.report;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The seed's two open questions answered for one trait, with the number of runs behind each answer. The ranges
 * are the seed's claims, not the report's buckets, so they hold whatever {@code --buckets} says.
 * <ul>
 *   <li>"cliff near 1.0-1.15?": yes when the trait's (pooled) cliff lies in [{@value #CLIFF_LO} − {@value #NEAR},
 *   {@value #CLIFF_HI} + {@value #NEAR}]; no cliff at all is "no" too (the runs never break on average).</li>
 *   <li>"0.5-0.8 sweet spot?": yes when at least half of the runs with ratio in [{@value #SWEET_LO}, {@value #SWEET_HI})
 *   are coherent AND their mean |delta| exceeds that of the runs below {@value #SWEET_LO} (steering there does more
 *   than weaker steering, and mostly stays coherent). Without runs below 0.5 the effect cannot be compared: the
 *   answer is then decided by coherence alone and says so.</li>
 * </ul>
 */
public record SeedClaims(String trait, int runs, Optional<Cliff> cliff, Answer cliffNear, int sweetRuns,
                         Double sweetPctCoherent, Double sweetAvgDelta, int belowRuns, Double belowAvgDelta,
                         Answer sweetSpot) {
    public static final double CLIFF_LO = 1.0;
    public static final double CLIFF_HI = 1.15;
    public static final double NEAR = 0.05;
    public static final double SWEET_LO = 0.5;
    public static final double SWEET_HI = 0.8;

    /** An answer: yes, no, or no runs to decide on. */
    public enum Answer {
        YES, NO, NO_DATA;

        public String word() {
            return this == NO_DATA ? "no data" : name().toLowerCase(Locale.ROOT);
        }
    }

    public static SeedClaims of(String trait, List<RunPoint> ps, Optional<Cliff> cliff, ReportSettings settings) {
        Answer near;
        if (ps.isEmpty()) near = Answer.NO_DATA;
        else near = cliff.map(c -> c.ratio() >= CLIFF_LO - NEAR && c.ratio() <= CLIFF_HI + NEAR ? Answer.YES : Answer.NO)
                .orElse(Answer.NO);
        List<RunPoint> sweet = ps.stream().filter(p -> p.ratio() >= SWEET_LO && p.ratio() < SWEET_HI).toList();
        List<RunPoint> below = ps.stream().filter(p -> p.ratio() < SWEET_LO).toList();
        Double pct = sweet.isEmpty() ? null : 100.0 * sweet.stream().filter(p -> settings.coherent(p.coherence())).count() / sweet.size();
        Double sweetDelta = meanDelta(sweet), belowDelta = meanDelta(below);
        Answer spot;
        if (sweet.isEmpty()) spot = Answer.NO_DATA;
        else if (pct < SweetSpots.BALANCED_PCT) spot = Answer.NO;
        else if (belowDelta == null) spot = Answer.YES;
        else spot = Math.abs(sweetDelta) > Math.abs(belowDelta) ? Answer.YES : Answer.NO;
        return new SeedClaims(trait, ps.size(), cliff, near, sweet.size(), pct, sweetDelta, below.size(), belowDelta, spot);
    }

    /** The rules in words, printed under the across-traits table. */
    public static String rules(double threshold) {
        return String.format(Locale.ROOT, "cliff near 1.0-1.15: yes when the trait's cliff ratio lies in [%.2f, %.2f] "
                + "(no cliff: no). 0.5-0.8 sweet spot: yes when >= 50%% of the runs with ratio in [0.5, 0.8) are coherent "
                + "(coherence >= %.0f) and their mean |delta| exceeds that of the runs below 0.5 (with no runs below 0.5: "
                + "coherence alone decides, marked *).", CLIFF_LO - NEAR, CLIFF_HI + NEAR, threshold);
    }

    private static Double meanDelta(List<RunPoint> ps) {
        return ps.isEmpty() ? null : ps.stream().mapToDouble(RunPoint::delta).average().orElseThrow();
    }
}
