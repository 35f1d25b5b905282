package dev.steer.engine.report;

import dev.steer.engine.BadInputException;

/**
 * What a report judges runs by: the coherence a run needs to count as coherent, and the ratio ranges of its table.
 *
 * @param coherenceThreshold a run is coherent when its mean coherence is at least this (0-100)
 */
public record ReportSettings(double coherenceThreshold, RatioBuckets buckets) {
    public static final double DEFAULT_THRESHOLD = 70.0;
    public static final ReportSettings DEFAULT = new ReportSettings(DEFAULT_THRESHOLD, RatioBuckets.SEED);

    public ReportSettings {
        if (!(coherenceThreshold >= 0 && coherenceThreshold <= 100))
            throw new BadInputException("--coherence-threshold: must be in 0..100, was " + coherenceThreshold);
    }

    public boolean coherent(double coherence) {
        return coherence >= coherenceThreshold;
    }
}
