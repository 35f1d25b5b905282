package dev.steer.engine.report;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SweetSpotsTest {
    /** Rows with the given (avg coherence, pct coherent) per bucket; NaN marks an empty bucket. */
    private static List<BucketStats> table(double[] coh, double[] pct) {
        List<BucketStats> t = new ArrayList<>();
        RatioBucket[] bs = RatioBucket.values();
        for (int i = 0; i < bs.length; i++)
            t.add(Double.isNaN(coh[i]) ? new BucketStats(bs[i], 0, null, null, null, null)
                    : new BucketStats(bs[i], 10, coh[i], 0.0, pct[i], 1.0));
        return t;
    }

    @Test
    void designTableGivesDesignSweetSpots() {
        // DESIGN.md's validation table: avg coherence and % coherent per bucket.
        SweetSpots s = SweetSpots.choose(table(new double[] {88.4, 90.5, 80.8, 69.5, 53.6, 39.5},
                new double[] {100, 100, 85, 53, 19, 8}));
        assertEquals(new SweetSpots(RatioBucket.R0_3, RatioBucket.R0_8, RatioBucket.R1_0), s);
    }

    @Test
    void walkStopsAtTheFirstFailingBucketAndSkipsEmptyOnes() {
        // 0.5-0.8 is empty; 0.8-1.0 fails everything; 1.3+ would pass everything but lies past the failure.
        SweetSpots s = SweetSpots.choose(table(new double[] {95, 92, Double.NaN, 30, 40, 90},
                new double[] {100, 95, Double.NaN, 0, 10, 100}));
        assertEquals(new SweetSpots(RatioBucket.R0_3, RatioBucket.R0_3, RatioBucket.R0_3), s);
    }

    @Test
    void failingFromTheStartGivesNone() {
        SweetSpots s = SweetSpots.choose(table(new double[] {60, 60, 40, 30, 20, 10},
                new double[] {60, 60, 10, 0, 0, 0}));
        assertEquals(new SweetSpots(null, RatioBucket.R0_3, RatioBucket.R0_3), s);
        assertEquals(new SweetSpots(null, null, null), SweetSpots.choose(table(
                new double[] {40, 90, 90, 90, 90, 90}, new double[] {40, 100, 100, 100, 100, 100})));
    }
}
