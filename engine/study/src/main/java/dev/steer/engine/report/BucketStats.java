package dev.steer.engine.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One row of the validation table. Averages are plain means over the bucket's runs; null when the bucket is empty.
 *
 * @param pctCoherent percentage (0-100) of runs with coherence ≥ the report's threshold ({@link #COHERENT} by default)
 * @param sdCoherence sample standard deviation (n − 1) of coherence; 0 for one run, null when empty
 */
public record BucketStats(RatioBucket bucket, int count, Double avgCoherence, Double avgDelta, Double pctCoherent,
                          Double sdCoherence) {
    /** A run is coherent when its mean coherence is at least this (0-100 judge scale). */
    public static final double COHERENT = ReportSettings.DEFAULT_THRESHOLD;

    /** One row per seed {@link RatioBucket}, in ratio order, empty buckets included; coherent = coherence ≥ 70. */
    public static List<BucketStats> table(List<RunPoint> points) {
        return table(points, ReportSettings.DEFAULT);
    }

    /** One row per bucket of {@code settings}, in ratio order, empty buckets included. */
    public static List<BucketStats> table(List<RunPoint> points, ReportSettings settings) {
        Map<RatioBucket, List<RunPoint>> by = new LinkedHashMap<>();
        for (RatioBucket b : settings.buckets().buckets()) by.put(b, new ArrayList<>());
        for (RunPoint p : points) by.get(settings.buckets().of(p.ratio())).add(p);
        List<BucketStats> rows = new ArrayList<>();
        by.forEach((b, ps) -> rows.add(of(b, ps, settings)));
        return rows;
    }

    static BucketStats of(RatioBucket b, List<RunPoint> ps, ReportSettings settings) {
        int n = ps.size();
        if (n == 0) return new BucketStats(b, 0, null, null, null, null);
        double sumC = 0, sumD = 0;
        int coherent = 0;
        for (RunPoint p : ps) {
            sumC += p.coherence();
            sumD += p.delta();
            if (settings.coherent(p.coherence())) coherent++;
        }
        double meanC = sumC / n;
        double ss = 0;
        for (RunPoint p : ps) ss += (p.coherence() - meanC) * (p.coherence() - meanC);
        double sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0.0;
        return new BucketStats(b, n, meanC, sumD / n, 100.0 * coherent / n, sd);
    }
}
