package dev.steer.engine.extract;

/**
 * A linear probe: L2-regularised logistic regression (positive = 1) on standardised activations, fitted in
 * double, deterministically. Objective, as scikit-learn's {@code LogisticRegression(C)} with the intercept not
 * penalised: {@code ½‖w‖² + C Σ_i logloss_i}, features standardised with the training set's mean and population
 * standard deviation (a constant feature gets scale 1).
 *
 * <p>Solved by Newton's method with backtracking in the dual parametrisation {@code w = X_stdᵀ α}, exact for an
 * L2 penalty: each step solves an (n+1)² system, so the cost is O(n²·H + n³) per step for n prompts — meant
 * for up to a few hundred prompts per side.
 *
 * <p>The steering direction: the weights mapped back to activation space ({@code w_j / std_j}, because the score
 * is {@code Σ w_j (x_j − mean_j) / std_j + b}), normalised to UNIT norm and oriented so positives project higher.
 * The probe's own scale says nothing about activation units (it moves with C), so ‖v‖ = 1 and the coefficient
 * alone carries the strength; ‖v‖/‖h‖ = 1/‖h‖ then varies across layers as ‖h‖ does.
 *
 * <p>Held-out accuracy: {@link Folds} cross-validation (each fold fitted afresh, its own standardisation), the
 * fraction of held-out prompts on the right side of 0.
 */
public final class LogisticProbe {
    public static final double DEFAULT_C = 1.0;
    private static final int MAX_NEWTON_STEPS = 100;
    private static final double GRADIENT_TOLERANCE = 1e-10;

    /**
     * @param direction       unit vector in activation space, positives project higher
     * @param heldoutAccuracy cross-validated accuracy, NaN with fewer than 2 prompts on a side
     * @param trainAccuracy   accuracy of the final fit on the prompts it was fitted to
     */
    public record Fit(float[] direction, double heldoutAccuracy, int folds, double trainAccuracy) {
    }

    private LogisticProbe() {
    }

    public static Fit fit(float[][] positive, float[][] negative) {
        return fit(positive, negative, DEFAULT_C);
    }

    public static Fit fit(float[][] positive, float[][] negative, double c) {
        if (positive.length == 0 || negative.length == 0)
            throw new IllegalArgumentException("a probe needs prompts on both sides, got " + positive.length + " positive, " + negative.length + " negative");
        if (!(c > 0) || Double.isInfinite(c)) throw new IllegalArgumentException("C must be positive and finite, was " + c);
        Folds folds = Folds.of(positive.length, negative.length);
        double heldout = Double.NaN;
        if (folds.usable()) {
            int right = 0, total = 0;
            for (int f = 0; f < folds.k(); f++) {
                Classifier cl = Classifier.train(folds.train(positive, f), folds.train(negative, f), c);
                float[][] hp = folds.heldOut(positive, f), hn = folds.heldOut(negative, f);
                right += cl.correct(hp, hn);
                total += hp.length + hn.length;
            }
            heldout = (double) right / total;
        }
        Classifier all = Classifier.train(positive, negative, c);
        double train = (double) all.correct(positive, negative) / (positive.length + negative.length);
        return new Fit(orient(all.activationDirection(), positive, negative), heldout, folds.usable() ? folds.k() : 0, train);
    }

    /** Unit norm, flipped if the positives' mean projection is below the negatives'. */
    private static float[] orient(double[] u, float[][] positive, float[][] negative) {
        double norm = 0;
        for (double x : u) norm += x * x;
        norm = Math.sqrt(norm);
        double[] mp = MeanDiff.mean(positive), mn = MeanDiff.mean(negative);
        double gap = 0;
        for (int i = 0; i < u.length; i++) gap += u[i] * (mp[i] - mn[i]);
        double scale = (gap < 0 ? -1 : 1) / (norm > 0 ? norm : 1);
        float[] v = new float[u.length];
        for (int i = 0; i < v.length; i++) v[i] = (float) (u[i] * scale);
        return v;
    }

    /** One fitted logistic regression: score(x) = Σ w_j (x_j − mean_j) / scale_j + bias. */
    static final class Classifier {
        final double[] mean, scale, w;
        final double bias;

        private Classifier(double[] mean, double[] scale, double[] w, double bias) {
            this.mean = mean;
            this.scale = scale;
            this.w = w;
            this.bias = bias;
        }

        static Classifier train(float[][] positive, float[][] negative, double c) {
            int n = positive.length + negative.length, d = positive[0].length;
            double[][] x = new double[n][];
            double[] y = new double[n];
            for (int i = 0; i < positive.length; i++) {
                x[i] = widen(positive[i]);
                y[i] = 1;
            }
            for (int i = 0; i < negative.length; i++) x[positive.length + i] = widen(negative[i]);
            double[] mean = new double[d], scale = new double[d];
            for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j];
            for (int j = 0; j < d; j++) mean[j] /= n;
            for (double[] r : x) for (int j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
            for (int j = 0; j < d; j++) {
                scale[j] = Math.sqrt(scale[j] / n);
                if (scale[j] == 0) scale[j] = 1;
            }
            for (double[] r : x) for (int j = 0; j < d; j++) r[j] = (r[j] - mean[j]) / scale[j];
            double[][] gram = new double[n][n];
            for (int i = 0; i < n; i++)
                for (int k = 0; k <= i; k++) {
                    double s = 0;
                    for (int j = 0; j < d; j++) s += x[i][j] * x[k][j];
                    gram[i][k] = gram[k][i] = s;
                }
            DualNewton sol = DualNewton.solve(gram, y, 1.0 / (c * n), MAX_NEWTON_STEPS, GRADIENT_TOLERANCE);
            double[] w = new double[d];
            for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) w[j] += sol.alpha()[i] * x[i][j];
            return new Classifier(mean, scale, w, sol.bias());
        }

        double score(float[] row) {
            double s = bias;
            for (int j = 0; j < w.length; j++) s += w[j] * (row[j] - mean[j]) / scale[j];
            return s;
        }

        int correct(float[][] positive, float[][] negative) {
            int right = 0;
            for (float[] r : positive) if (score(r) > 0) right++;
            for (float[] r : negative) if (score(r) < 0) right++;
            return right;
        }

        double[] activationDirection() {
            double[] u = new double[w.length];
            for (int j = 0; j < u.length; j++) u[j] = w[j] / scale[j];
            return u;
        }

        private static double[] widen(float[] r) {
            double[] out = new double[r.length];
            for (int j = 0; j < r.length; j++) out[j] = r[j];
            return out;
        }
    }
}
