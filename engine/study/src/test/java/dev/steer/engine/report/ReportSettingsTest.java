package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --buckets, --coherence-threshold, the aggressive rule, the seed's questions and the pooled-vs-layer note. */
class ReportSettingsTest {
    private static final double EPS = 1e-9;

    @Test
    void bucketEdgesParseIntoHalfOpenRangesAndBadEdgesNameTheFlag() {
        RatioBuckets b = RatioBuckets.parse("0.25,0.5,1", "--buckets");
        assertEquals(List.of("0.0-0.25", "0.25-0.5", "0.5-1.0", "1.0+"), b.buckets().stream().map(RatioBucket::label).toList());
        assertEquals("0.25-0.5", b.of(0.25).label());
        assertEquals("1.0+", b.of(7).label());
        assertEquals(RatioBuckets.SEED, RatioBuckets.parse("0,0.3,0.5,0.8,1.0,1.3", "--buckets"));
        assertEquals("0.3,0.5,0.8,1.0,1.3", RatioBuckets.SEED.cliValue());
        assertTrue(assertThrows(BadInputException.class, () -> RatioBuckets.parse("0.5,0.3", "--buckets")).getMessage()
                .contains("--buckets 0.5,0.3: edge 0.3 must be above the previous edge 0.5"));
        assertTrue(assertThrows(BadInputException.class, () -> RatioBuckets.parse("0.5,x", "--buckets")).getMessage()
                .contains("'x' is not a number"));
        assertTrue(assertThrows(BadInputException.class, () -> RatioBuckets.parse("-1", "--buckets")).getMessage()
                .contains("must be a finite ratio > 0"));
        assertThrows(BadInputException.class, () -> new ReportSettings(101, RatioBuckets.SEED));
    }

    @Test
    void customBucketsAndThresholdChangeTheTable() {
        List<BucketStats> t = BucketStats.table(SyntheticRuns.designShaped(), new ReportSettings(55, RatioBuckets.parse("0.8,1.3", "--b")));
        assertEquals(List.of(28, 31, 12), t.stream().map(BucketStats::count).toList());
        // 0.8-1.3 holds 8 at 80, 7 at 57.5, 3 at 76 and 13 at 48: coherent at 55 are 18 of 31.
        assertEquals(100.0 * 18 / 31, t.get(1).pctCoherent(), EPS);
        List<BucketStats> seed = BucketStats.table(SyntheticRuns.designShaped());
        assertEquals(800.0 / 15, seed.get(3).pctCoherent(), EPS, "0.8-1.0 at threshold 70");
        assertEquals(100.0, BucketStats.table(SyntheticRuns.designShaped(), new ReportSettings(55, RatioBuckets.SEED)).get(3).pctCoherent(), EPS);
    }

    @Test
    void noAggressiveSpotWhereEveryRunIsIncoherent() {
        // 0.5-0.8 averages 60 (not broken) but not one run reaches 70: it is no sweet spot of any kind.
        List<RunPoint> ps = new ArrayList<>();
        for (int i = 0; i < 5; i++) ps.add(SyntheticRuns.point("t", 1, 0.1 + 0.02 * i, 95, 1));
        for (int i = 0; i < 5; i++) ps.add(SyntheticRuns.point("t", 1, 0.55 + 0.02 * i, 60, 5));
        SweetSpots s = LawReport.build(ps).overall().sweetSpots();
        assertEquals(new SweetSpots(RatioBucket.R0_0, RatioBucket.R0_0, RatioBucket.R0_0), s);
        assertTrue(SweetSpots.rule(70).contains("at least one coherent run"));
    }

    @Test
    void seedQuestionsAnsweredWithRunCounts() {
        List<RunPoint> ps = new ArrayList<>();
        for (int i = 0; i < 4; i++) ps.add(SyntheticRuns.point("holds", 1, 0.1 + 0.1 * i, 90, 2));      // below 0.5: delta 2
        for (int i = 0; i < 6; i++) ps.add(SyntheticRuns.point("holds", 1, 0.5 + 0.05 * i, i < 4 ? 85 : 65, 10)); // 4 of 6 coherent
        for (int i = 0; i < 4; i++) ps.add(SyntheticRuns.point("holds", 1, 0.82 + 0.05 * i, 95, 12));
        for (int i = 0; i < 6; i++) ps.add(SyntheticRuns.point("holds", 1, 1.05 + 0.05 * i, 20, 30));   // the first broken window starts at 0.97: 95, 20, 20, 20, 20
        LawReport r = LawReport.build(ps);
        SeedClaims c = r.claims().get(0);
        assertEquals(20, c.runs());
        assertEquals(0.97, c.cliff().orElseThrow().ratio(), EPS);
        assertEquals(SeedClaims.Answer.YES, c.cliffNear(), "the cliff " + c.cliff());
        assertEquals(6, c.sweetRuns());
        assertEquals(4, c.belowRuns());
        assertEquals(100.0 * 4 / 6, c.sweetPctCoherent(), EPS);
        assertEquals(10, c.sweetAvgDelta(), EPS);
        assertEquals(SeedClaims.Answer.YES, c.sweetSpot());

        // The same runs at threshold 90: 0.5-0.8 is not coherent enough.
        assertEquals(SeedClaims.Answer.NO, LawReport.build(ps, new ReportSettings(90, RatioBuckets.SEED)).claims().get(0).sweetSpot());
        // No run in 0.5-0.8 at all: no data; a trait that never breaks: no.
        SeedClaims none = LawReport.build(List.of(SyntheticRuns.point("flat", 1, 0.2, 90, 1))).claims().get(0);
        assertEquals(SeedClaims.Answer.NO_DATA, none.sweetSpot());
        assertEquals(SeedClaims.Answer.NO, none.cliffNear());
        String text = ReportText.render(r);
        assertTrue(text.contains("| holds | yes (0.970), n=20"), text);
        assertTrue(text.contains("yes (67% coherent, delta +10.0 vs +2.0 below 0.5, n=4), n=6"), text);
    }

    @Test
    void pooledCliffAboveEveryLayersOwnIsExplained() {
        LawReport.Section a = LawReport.build(SyntheticRuns.twoTraitsTwoLayers()).traits().get("A");
        // A: pooled 0.9, layer 6 at 0.4, layer 12 at 0.8.
        assertTrue(a.cliffNote().contains("pooled cliff 0.900; per-layer cliffs: layer 6 at 0.400, layer 12 at 0.800"), a.cliffNote());
        assertTrue(a.cliffNote().contains("above every layer's own"), a.cliffNote());
        // One layer only: nothing to disagree with.
        assertNull(LawReport.build(SyntheticRuns.designShaped().stream().filter(p -> p.layer() == 6).toList()).traits()
                .get("refusal").cliffNote());
    }
}
