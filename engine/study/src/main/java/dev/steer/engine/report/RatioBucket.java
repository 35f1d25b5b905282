package dev.steer.engine.report;

/**
 * The perturbation-ratio ranges of the validation table (DESIGN.md). Each is half-open {@code [lo, hi)}: a run at
 * exactly 0.3 falls in 0.3-0.5. The last is {@code [1.3, ∞)}.
 */
public enum RatioBucket {
    R0_0("0.0-0.3", 0.0, 0.3),
    R0_3("0.3-0.5", 0.3, 0.5),
    R0_5("0.5-0.8", 0.5, 0.8),
    R0_8("0.8-1.0", 0.8, 1.0),
    R1_0("1.0-1.3", 1.0, 1.3),
    R1_3("1.3+", 1.3, Double.POSITIVE_INFINITY);

    private final String label;
    private final double lo;
    private final double hi;

    RatioBucket(String label, double lo, double hi) {
        this.label = label;
        this.lo = lo;
        this.hi = hi;
    }

    /** As in the table and the JSON "range" field, e.g. "0.3-0.5", "1.3+". */
    public String label() {
        return label;
    }

    public double lo() {
        return lo;
    }

    public double hi() {
        return hi;
    }

    /** The bucket of a ratio ≥ 0 (ratios are strengths: |coef|·‖v‖/‖h‖). */
    public static RatioBucket of(double ratio) {
        if (!(ratio >= 0)) throw new IllegalArgumentException("ratio must be >= 0, got " + ratio);
        for (RatioBucket b : values()) if (ratio < b.hi) return b;
        throw new AssertionError("the last bucket is unbounded");
    }
}
