package dev.steer.engine.extract;

import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.steering.VectorProvenance;

import dev.steer.engine.BadInputException;
import dev.steer.engine.model.CausalLm;

import java.util.ArrayList;
import java.util.List;

/**
 * Extracts steering vectors from contrastive prompt sets: captures every requested layer in shared batched
 * passes over both sets ({@link ActivationCapture}), then fits each method per layer and scores it.
 */
public final class VectorExtraction {
    public static final int DEFAULT_BATCH = 16;

    private VectorExtraction() {
    }

    /** Results in layer order, methods in the given order within a layer. */
    public static List<ExtractedVector> extract(CausalLm lm, List<int[]> positives, List<int[]> negatives, int[] layers,
                                                Pooling pos, List<Method> methods, int batchSize) {
        return extract(lm, positives, negatives, layers, pos, methods, batchSize, (n, tokens) -> { });
    }

    /** As above, reporting (prompts, tokens) after every batched capture pass. */
    public static List<ExtractedVector> extract(CausalLm lm, List<int[]> positives, List<int[]> negatives, int[] layers,
                                                Pooling pos, List<Method> methods, int batchSize,
                                                java.util.function.BiConsumer<Integer, Integer> progress) {
        if (positives.isEmpty() || negatives.isEmpty())
            throw new BadInputException("extraction needs positive and negative prompts; got " + positives.size()
                    + " positive and " + negatives.size() + " negative");
        if (methods.isEmpty()) throw new BadInputException("--method: no method given");
        List<int[]> all = new ArrayList<>(positives);
        all.addAll(negatives);
        ActivationCapture cap = ActivationCapture.capture(lm, all, layers, pos, batchSize, progress);
        int np = positives.size();
        List<ExtractedVector> out = new ArrayList<>();
        for (int layer : cap.layers()) {
            float[][] f = cap.features(layer);
            float[][] p = java.util.Arrays.copyOfRange(f, 0, np);
            float[][] n = java.util.Arrays.copyOfRange(f, np, f.length);
            double hNorm = cap.activationNorm(layer);
            for (Method m : methods) out.add(m == Method.MEAN_DIFF ? meanDiff(layer, pos, p, n, hNorm) : probe(layer, pos, p, n, hNorm));
        }
        return out;
    }

    static ExtractedVector meanDiff(int layer, Pooling pos, float[][] p, float[][] n, double hNorm) {
        float[] v = MeanDiff.direction(p, n);
        Folds folds = Folds.of(p.length, n.length);
        double heldout = Double.NaN;
        if (folds.usable()) {
            int right = 0, total = 0;
            for (int f = 0; f < folds.k(); f++) {
                float[][] hp = folds.heldOut(p, f), hn = folds.heldOut(n, f);
                right += midpointCorrect(folds.train(p, f), folds.train(n, f), hp, hn);
                total += hp.length + hn.length;
            }
            heldout = (double) right / total;
        }
        double train = (double) midpointCorrect(p, n, p, n) / (p.length + n.length);
        return result(layer, Method.MEAN_DIFF, pos, v, p, n, hNorm, heldout, train);
    }

    static ExtractedVector probe(int layer, Pooling pos, float[][] p, float[][] n, double hNorm) {
        LogisticProbe.Fit fit = LogisticProbe.fit(p, n);
        return result(layer, Method.PROBE, pos, fit.direction(), p, n, hNorm, fit.heldoutAccuracy(), fit.trainAccuracy());
    }

    /** Mean-diff direction from the training rows; a test row is positive when its projection is above the midpoint of the class means. */
    private static int midpointCorrect(float[][] trainP, float[][] trainN, float[][] testP, float[][] testN) {
        float[] v = MeanDiff.direction(trainP, trainN);
        double mid = (mean(project(trainP, v)) + mean(project(trainN, v))) / 2;
        int right = 0;
        for (double s : project(testP, v)) if (s > mid) right++;
        for (double s : project(testN, v)) if (s < mid) right++;
        return right;
    }

    private static ExtractedVector result(int layer, Method m, Pooling pos, float[] v, float[][] p, float[][] n,
                                          double hNorm, double heldout, double train) {
        SteeringVector vector = new SteeringVector(v, new VectorProvenance("extraction", null, layer, m.label(), pos.label(), null, java.util.Map.of()));
        double norm = vector.norm();
        float[] unit = new float[v.length];
        for (int i = 0; i < v.length; i++) unit[i] = (float) (norm > 0 ? v[i] / norm : 0);
        double d = EffectSize.cohensD(project(p, unit), project(n, unit));
        return new ExtractedVector(vector, layer, m, pos, hNorm, heldout, train, d, p.length, n.length);
    }

    static double[] project(float[][] rows, float[] v) {
        double[] out = new double[rows.length];
        for (int r = 0; r < rows.length; r++) {
            double s = 0;
            for (int i = 0; i < v.length; i++) s += (double) rows[r][i] * v[i];
            out[r] = s;
        }
        return out;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }
}
