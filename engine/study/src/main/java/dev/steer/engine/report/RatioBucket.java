package dev.steer.engine.report;

import java.util.List;
import java.util.Locale;

/**
 * One perturbation-ratio range of the validation table, half-open {@code [lo, hi)}: with the seed's edges a run at
 * exactly 0.3 falls in 0.3-0.5. The last range of a {@link RatioBuckets} is unbounded ({@code hi} = ∞, label "1.3+").
 * The constants are the seed's (DESIGN.md) ranges, {@link RatioBuckets#SEED}.
 */
public record RatioBucket(String label, double lo, double hi) {
    public static final RatioBucket R0_0 = new RatioBucket("0.0-0.3", 0.0, 0.3);
    public static final RatioBucket R0_3 = new RatioBucket("0.3-0.5", 0.3, 0.5);
    public static final RatioBucket R0_5 = new RatioBucket("0.5-0.8", 0.5, 0.8);
    public static final RatioBucket R0_8 = new RatioBucket("0.8-1.0", 0.8, 1.0);
    public static final RatioBucket R1_0 = new RatioBucket("1.0-1.3", 1.0, 1.3);
    public static final RatioBucket R1_3 = new RatioBucket("1.3+", 1.3, Double.POSITIVE_INFINITY);

    /** The seed's ranges in ratio order. */
    public static RatioBucket[] values() {
        return new RatioBucket[] {R0_0, R0_3, R0_5, R0_8, R1_0, R1_3};
    }

    /** The seed bucket of a ratio ≥ 0 (ratios are strengths: |coef|·‖v‖/‖h‖). */
    public static RatioBucket of(double ratio) {
        return RatioBuckets.SEED.of(ratio);
    }

    /** {@code [lo, hi)} labelled as the table prints it: "0.3-0.5", or "1.3+" for the unbounded last range. */
    static RatioBucket between(double lo, double hi) {
        String label = Double.isInfinite(hi) ? edge(lo) + "+" : edge(lo) + "-" + edge(hi);
        return new RatioBucket(label, lo, hi);
    }

    /** Whether the bucket holds {@code ratio}. */
    public boolean contains(double ratio) {
        return ratio >= lo && ratio < hi;
    }

    /** A bucket edge as the table prints it: one decimal at least (0.0, 0.3, 1.15). */
    public static String edge(double x) {
        String s = String.format(Locale.ROOT, "%.1f", x);
        if (Double.parseDouble(s) == x) return s;
        return List.of(String.format(Locale.ROOT, "%.2f", x), String.format(Locale.ROOT, "%.3f", x)).stream()
                .filter(t -> Double.parseDouble(t) == x).findFirst().orElse(Double.toString(x));
    }
}
