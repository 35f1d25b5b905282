package dev.steer.engine.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LawReportTest {
    private static final double EPS = 1e-9;

    @Test
    void bucketTableReproducesTheConstructedStatistics() {
        List<BucketStats> t = BucketStats.table(SyntheticRuns.designShaped());
        assertEquals(List.of(RatioBucket.values()), t.stream().map(BucketStats::bucket).toList());
        assertEquals(List.of(4, 4, 20, 15, 16, 12), t.stream().map(BucketStats::count).toList());
        double[] coh = {88.4, 90.5, 80.8, 69.5, 53.25, 471.5 / 12};
        double[] delta = {3.1, -5.4, 1.0, 8.5, 25.5, 26.2};
        double[] pct = {100, 100, 85, 800.0 / 15, 18.75, 100.0 / 12};
        for (int i = 0; i < 6; i++) {
            assertEquals(coh[i], t.get(i).avgCoherence(), EPS, "avg coherence " + t.get(i).bucket());
            assertEquals(delta[i], t.get(i).avgDelta(), EPS, "avg delta " + t.get(i).bucket());
            assertEquals(pct[i], t.get(i).pctCoherent(), EPS, "pct coherent " + t.get(i).bucket());
        }
        // Sample sd of 90, 88, 86, 89.6 (mean 88.4): squares 2.56 + 0.16 + 5.76 + 1.44 = 9.92 over n−1 = 3.
        assertEquals(Math.sqrt(9.92 / 3), t.get(0).sdCoherence(), EPS);
        // 17 at 85 and 3 at 57 around 80.8.
        assertEquals(Math.sqrt((17 * 4.2 * 4.2 + 3 * 23.8 * 23.8) / 19), t.get(2).sdCoherence(), EPS);
    }

    @Test
    void boundariesAreHalfOpenAndNegativeCoefBucketsByStrength() {
        assertEquals(RatioBucket.R0_0, RatioBucket.of(0.0));
        assertEquals(RatioBucket.R0_3, RatioBucket.of(0.3));
        assertEquals(RatioBucket.R0_5, RatioBucket.of(0.5));
        assertEquals(RatioBucket.R0_8, RatioBucket.of(0.8));
        assertEquals(RatioBucket.R1_0, RatioBucket.of(1.0));
        assertEquals(RatioBucket.R1_3, RatioBucket.of(1.3));
        assertEquals(RatioBucket.R1_0, RatioBucket.of(Math.nextDown(1.3)));
        RunPoint neg = RunPoint.of("t", 3, "probe", -2.0, 3.0, 10.0, 70, 30, 50);
        assertEquals(0.6, neg.ratio(), EPS);
        assertEquals(-20, neg.delta(), EPS);
    }

    @Test
    void overallCliffAndSweetSpotsOfTheDesignShapedSet() {
        LawReport r = LawReport.build(SyntheticRuns.designShaped());
        assertEquals(71, r.overall().count());
        Cliff c = r.overall().cliff().orElseThrow();
        // 1.0-1.3 holds 3 runs at 76 then 48s: the first all-48 window starts at its 4th run, ratio 1.0 + 0.018·3.
        assertEquals(1.0 + 0.018 * 3, c.ratio(), 0.0);
        assertEquals(48.0, c.meanCoherence(), EPS);
        assertEquals(5, c.window());
        SweetSpots s = r.overall().sweetSpots();
        assertEquals(RatioBucket.R0_3, s.conservative());
        assertEquals(RatioBucket.R0_8, s.balanced());
        assertEquals(RatioBucket.R1_0, s.aggressive());
    }

    @Test
    void perTraitAndPerLayerCliffs() {
        LawReport r = LawReport.build(SyntheticRuns.twoTraitsTwoLayers());
        assertEquals(List.of("A", "B"), List.copyOf(r.traits().keySet()));
        assertEquals(List.of(6, 12), List.copyOf(r.layers().keySet()));

        LawReport.Section a = r.traits().get("A");
        assertEquals(25, a.count());
        assertEquals(0.9, a.cliff().orElseThrow().ratio(), 0.0);
        assertEquals(37.0, a.cliff().orElseThrow().meanCoherence(), EPS);
        assertEquals(0.4, a.layers().get(6).cliff().orElseThrow().ratio(), 0.0);
        assertEquals(42.0, a.layers().get(6).cliff().orElseThrow().meanCoherence(), EPS);
        assertEquals(0.8, a.layers().get(12).cliff().orElseThrow().ratio(), 0.0);
        assertEquals(46.0, a.layers().get(12).cliff().orElseThrow().meanCoherence(), EPS);

        LawReport.Section b = r.traits().get("B");
        assertTrue(b.cliff().isEmpty());
        assertEquals(new SweetSpots(RatioBucket.R1_3, RatioBucket.R1_3, RatioBucket.R1_3), b.sweetSpots());
        assertEquals(List.of(0, 0, 0, 0, 0, 6), b.buckets().stream().map(BucketStats::count).toList());
        assertNull(b.buckets().get(0).avgCoherence());

        // Pooled over traits, layer 6 is A's 10 runs then B's 6 coherent ones at ratio ≥ 2: still 0.4.
        assertEquals(16, r.layers().get(6).count());
        assertEquals(0.4, r.layers().get(6).cliff().orElseThrow().ratio(), 0.0);
        assertEquals(0.8, r.layers().get(12).cliff().orElseThrow().ratio(), 0.0);
        assertEquals(0.9, r.overall().cliff().orElseThrow().ratio(), 0.0);
        assertTrue(r.overall().layers().isEmpty(), "overall's per-layer breakdown is LawReport.layers()");
    }

    @Test
    void emptyReportHasEmptyBucketsAndNoCliff() {
        LawReport r = LawReport.build(List.of());
        assertEquals(0, r.overall().count());
        assertEquals(6, r.overall().buckets().size());
        assertTrue(r.overall().cliff().isEmpty());
        assertEquals(new SweetSpots(null, null, null), r.overall().sweetSpots());
        assertTrue(r.traits().isEmpty() && r.layers().isEmpty());
    }
}
