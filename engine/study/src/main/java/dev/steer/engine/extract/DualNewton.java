package dev.steer.engine.extract;

/**
 * Newton's method for L2-regularised logistic regression in the dual parametrisation: with a Gram matrix
 * {@code K = X Xᵀ} (n×n) and {@code w = Xᵀ α}, minimises
 * {@code F(α, b) = (1/n) Σ_i [softplus(z_i) − y_i z_i] + (λ/2) αᵀKα}, {@code z = Kα + b} (b not penalised).
 * Because the L2 optimum lies in the span of the rows of X, this is the primal problem exactly, solved with
 * n + 1 unknowns instead of H + 1.
 *
 * <p>The Newton system, with {@code r = σ(z) − y} and {@code D = diag(σ(z)(1 − σ(z)))}, after cancelling the
 * common factor K from the α rows: {@code [DK/n + λI, D1/n; 1ᵀDK/n, 1ᵀD1/n] [Δα; Δb] = −[r/n + λα; 1ᵀr/n]}
 * (nonsingular for λ > 0). Steps are damped by Armijo backtracking. Converged when the PRIMAL gradient,
 * {@code ‖Xᵀ(r/n + λα)‖² + (1ᵀr/n)²} under a square root, is below the tolerance.
 */
record DualNewton(double[] alpha, double bias, int steps, double gradientNorm) {

    static DualNewton solve(double[][] gram, double[] y, double lambda, int maxSteps, double tolerance) {
        int n = y.length;
        double[] alpha = new double[n];
        double bias = 0;
        double f = objective(gram, y, lambda, alpha, bias);
        double gradNorm = Double.NaN;
        int step = 0;
        for (; step < maxSteps; step++) {
            double[] z = scores(gram, alpha, bias);
            double[] g = new double[n], d = new double[n];
            double gb = 0;
            for (int i = 0; i < n; i++) {
                double p = sigmoid(z[i]);
                double r = p - y[i];
                g[i] = r / n + lambda * alpha[i];
                d[i] = p * (1 - p);
                gb += r / n;
            }
            double[] kg = times(gram, g);
            double sq = gb * gb;
            for (int i = 0; i < n; i++) sq += g[i] * kg[i];
            gradNorm = Math.sqrt(Math.max(0, sq));
            if (gradNorm < tolerance) break;

            double[][] m = new double[n + 1][n + 2];   // augmented [M | rhs]
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < n; k++) {
                    m[i][k] = d[i] * gram[i][k] / n + (i == k ? lambda : 0);
                    m[n][k] += d[i] * gram[i][k] / n;
                }
                m[i][n] = d[i] / n;
                m[n][n] += d[i] / n;
                m[i][n + 1] = -g[i];
            }
            m[n][n + 1] = -gb;
            double[] delta = gaussianElimination(m);

            double slope = gb * delta[n];
            for (int i = 0; i < n; i++) slope += kg[i] * delta[i];
            if (!(slope < 0)) break;   // no descent left at double precision
            double t = 1;
            double[] trial = new double[n];
            double fTrial;
            while (true) {
                for (int i = 0; i < n; i++) trial[i] = alpha[i] + t * delta[i];
                fTrial = objective(gram, y, lambda, trial, bias + t * delta[n]);
                if (fTrial <= f + 1e-4 * t * slope || t < 1e-12) break;
                t /= 2;
            }
            if (t < 1e-12) break;
            alpha = trial.clone();
            bias += t * delta[n];
            f = fTrial;
        }
        return new DualNewton(alpha, bias, step, gradNorm);
    }

    static double objective(double[][] gram, double[] y, double lambda, double[] alpha, double bias) {
        double[] z = scores(gram, alpha, bias);
        double loss = 0, reg = 0;
        for (int i = 0; i < y.length; i++) {
            loss += softplus(z[i]) - y[i] * z[i];
            reg += alpha[i] * (z[i] - bias);   // αᵀKα, since z − b = Kα
        }
        return loss / y.length + 0.5 * lambda * reg;
    }

    private static double[] scores(double[][] gram, double[] alpha, double bias) {
        double[] z = times(gram, alpha);
        for (int i = 0; i < z.length; i++) z[i] += bias;
        return z;
    }

    private static double[] times(double[][] a, double[] x) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double s = 0;
            for (int k = 0; k < x.length; k++) s += a[i][k] * x[k];
            out[i] = s;
        }
        return out;
    }

    static double sigmoid(double z) {
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }

    static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    /** Solves the augmented system [A | b] in place, partial pivoting. */
    private static double[] gaussianElimination(double[][] m) {
        int n = m.length;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
            double[] tmp = m[col];
            m[col] = m[pivot];
            m[pivot] = tmp;
            double p = m[col][col];
            if (p == 0) continue;   // singular direction: leave that unknown at 0
            for (int r = col + 1; r < n; r++) {
                double factor = m[r][col] / p;
                if (factor == 0) continue;
                for (int c = col; c <= n; c++) m[r][c] -= factor * m[col][c];
            }
        }
        double[] x = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double s = m[r][n];
            for (int c = r + 1; c < n; c++) s -= m[r][c] * x[c];
            x[r] = m[r][r] == 0 ? 0 : s / m[r][r];
        }
        return x;
    }
}
