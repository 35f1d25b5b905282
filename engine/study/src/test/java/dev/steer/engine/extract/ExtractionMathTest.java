package dev.steer.engine.extract;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mean difference, Cohen's d, the logistic probe and the held-out split on data whose answers are known. */
class ExtractionMathTest {
    @Test
    void meanDiffIsTheDifferenceOfMeans() {
        float[][] p = {{1, 2}, {3, 6}};
        float[][] n = {{0, 1}, {0, 1}, {3, 1}};
        assertArrayEquals(new float[] {1, 3}, MeanDiff.direction(p, n), 1e-6f);
    }

    @Test
    void cohensDByHand() {
        assertEquals(-3.0, EffectSize.cohensD(new double[] {1, 2, 3}, new double[] {4, 5, 6}), 1e-12);
        // means 5 and 2; squared deviations 20 + 2 over 4 degrees of freedom
        assertEquals(3 / Math.sqrt(22.0 / 4), EffectSize.cohensD(new double[] {2, 4, 6, 8}, new double[] {1, 3}), 1e-12);
        assertTrue(Double.isNaN(EffectSize.cohensD(new double[] {1}, new double[] {2})), "one score per side: no spread");
    }

    @Test
    void probeSolvesTheOneDimensionalProblemByHand() {
        // x = +1 (positive), −1 (negative): standardised they stay ±1, b = 0 by symmetry, and with C = 1, n = 2
        // (λ = 1/(C n) = 1/2) the optimum solves σ(w) − 1 + w/2 = 0.
        double lo = 0, hi = 2;
        for (int i = 0; i < 200; i++) {
            double mid = (lo + hi) / 2;
            if (DualNewton.sigmoid(mid) - 1 + mid / 2 < 0) lo = mid; else hi = mid;
        }
        LogisticProbe.Classifier c = LogisticProbe.Classifier.train(new float[][] {{1}}, new float[][] {{-1}}, 1.0);
        assertEquals(lo, c.w[0], 1e-9);
        assertEquals(0, c.bias, 1e-9);
    }

    @Test
    void probeReachesTheOptimumOfThePrimalObjective() {
        SplittableRandom rnd = new SplittableRandom(11);
        int d = 40;
        float[][] p = gaussian(rnd, 15, d, 0.4f), n = gaussian(rnd, 12, d, -0.4f);
        double c = 0.7;
        LogisticProbe.Classifier cl = LogisticProbe.Classifier.train(p, n, c);
        // Primal gradient of (1/N) Σ logloss + (λ/2)‖w‖², λ = 1/(C N), at the returned (w, b): must vanish.
        int total = p.length + n.length;
        double lambda = 1 / (c * total);
        double[] gw = new double[d];
        double gb = 0;
        for (int i = 0; i < total; i++) {
            float[] row = i < p.length ? p[i] : n[i - p.length];
            double y = i < p.length ? 1 : 0;
            double r = DualNewton.sigmoid(cl.score(row)) - y;
            for (int j = 0; j < d; j++) gw[j] += r * (row[j] - cl.mean[j]) / cl.scale[j] / total;
            gb += r / total;
        }
        double sq = gb * gb;
        for (int j = 0; j < d; j++) sq += Math.pow(gw[j] + lambda * cl.w[j], 2);
        assertTrue(Math.sqrt(sq) < 1e-8, "primal gradient norm " + Math.sqrt(sq));
        double wn = 0;
        for (double w : cl.w) wn += w * w;
        assertTrue(wn > 0.01, "a real solution, not the zero start");
    }

    @Test
    void probeRecoversAPlantedDirectionAndIsUnitAndOriented() {
        SplittableRandom rnd = new SplittableRandom(3);
        int d = 16;
        // Separation along axis 2 only, with equal unit noise on every axis: the probe must point along +e2.
        float[][] p = gaussian(rnd, 60, d, 0), n = gaussian(rnd, 60, d, 0);
        for (float[] r : p) r[2] += 3;
        for (float[] r : n) r[2] -= 3;
        LogisticProbe.Fit fit = LogisticProbe.fit(p, n);
        assertEquals(1.0, VectorExtraction.norm(fit.direction()), 1e-6);
        assertTrue(fit.direction()[2] > 0.9, "cos with the planted axis " + fit.direction()[2]);
        assertEquals(5, fit.folds());
        assertTrue(fit.heldoutAccuracy() > 0.95, "held-out accuracy " + fit.heldoutAccuracy());
        assertTrue(fit.trainAccuracy() > 0.95);
        // Swapping the sets flips the direction.
        LogisticProbe.Fit swapped = LogisticProbe.fit(n, p);
        assertArrayEquals(negate(fit.direction()), swapped.direction(), 1e-5f);
    }

    @Test
    void heldOutAccuracyIsHonestOnNoise() {
        SplittableRandom rnd = new SplittableRandom(5);
        // Pure noise, more dimensions than prompts: perfectly separable in-sample, chance out of sample.
        float[][] p = gaussian(rnd, 20, 200, 0), n = gaussian(rnd, 20, 200, 0);
        LogisticProbe.Fit fit = LogisticProbe.fit(p, n);
        assertEquals(1.0, fit.trainAccuracy());
        assertTrue(fit.heldoutAccuracy() < 0.8, "held-out accuracy on noise " + fit.heldoutAccuracy());
        ExtractedVector md = VectorExtraction.meanDiff(0, Pooling.LAST, p, n, 1.0);
        assertTrue(md.heldoutAccuracy() < 0.8, "mean_diff held-out accuracy on noise " + md.heldoutAccuracy());
    }

    @Test
    void foldsKeepPairsTogetherAndHoldEveryExampleOutOnce() {
        Folds f = Folds.of(12, 7);
        assertEquals(5, f.k());
        float[][] rows = new float[12][];
        for (int i = 0; i < rows.length; i++) rows[i] = new float[] {i};
        int held = 0;
        for (int k = 0; k < f.k(); k++) {
            for (float[] r : f.heldOut(rows, k)) assertEquals(k, (int) r[0] % 5);
            held += f.heldOut(rows, k).length;
            assertEquals(12, f.heldOut(rows, k).length + f.train(rows, k).length);
        }
        assertEquals(12, held);
        assertEquals(3, Folds.of(3, 9).k());
        assertTrue(!Folds.of(1, 9).usable());
        assertTrue(Double.isNaN(LogisticProbe.fit(new float[][] {{1, 0}}, new float[][] {{0, 1}}).heldoutAccuracy()));
    }

    @Test
    void meanDiffScoresAndRatio() {
        float[][] p = {{2, 0}, {4, 0}, {3, 1}}, n = {{-2, 0}, {-4, 0}, {-3, -1}};
        ExtractedVector v = VectorExtraction.meanDiff(7, Pooling.MEAN, p, n, 20.0);
        assertArrayEquals(new float[] {6, 2f / 3}, v.vector(), 1e-6f);
        assertEquals(Math.hypot(6, 2.0 / 3), v.vectorNorm(), 1e-6);
        assertEquals(v.vectorNorm() / 20.0, v.ratio(), 1e-12);
        assertEquals(1.0, v.heldoutAccuracy());
        assertEquals(1.0, v.trainAccuracy());
        assertEquals(3, v.positives());
        assertTrue(v.cohensD() > 3, "well separated: d " + v.cohensD());
    }

    @Test
    void methodAndPositionParsing() {
        assertEquals(List.of(Method.MEAN_DIFF, Method.PROBE), Method.parseList("mean_diff,probe,mean_diff", "--method"));
        assertEquals(Pooling.MEAN, Pooling.parse("mean", "--position"));
        BadInputException e = assertThrows(BadInputException.class, () -> Method.parseList("mean_diff,pca", "--method"));
        assertTrue(e.getMessage().startsWith("--method") && e.getMessage().contains("'pca'"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Pooling.parse("first", "--position"));
        assertTrue(e.getMessage().startsWith("--position") && e.getMessage().contains("'first'"), e.getMessage());
    }

    private static float[][] gaussian(SplittableRandom rnd, int rows, int d, float shift) {
        float[][] x = new float[rows][d];
        for (float[] r : x) for (int j = 0; j < d; j++) r[j] = (float) rnd.nextGaussian() + shift;
        return x;
    }

    private static float[] negate(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = -v[i];
        return out;
    }
}
