package dev.steer.engine.extract;

/** How far apart two groups of scalar scores are, in units of their spread. */
public final class EffectSize {
    private EffectSize() {
    }

    /**
     * Cohen's d: {@code (mean(a) − mean(b)) / s_pooled}, {@code s_pooled² = ((n_a−1)s_a² + (n_b−1)s_b²) / (n_a+n_b−2)}
     * with unbiased sample variances. NaN when there are fewer than 3 scores in all; ±infinity when both groups
     * are constant but differ.
     */
    public static double cohensD(double[] a, double[] b) {
        int na = a.length, nb = b.length;
        if (na == 0 || nb == 0 || na + nb < 3) return Double.NaN;
        double ma = mean(a), mb = mean(b);
        double ss = 0;
        for (double x : a) ss += (x - ma) * (x - ma);
        for (double x : b) ss += (x - mb) * (x - mb);
        double pooled = Math.sqrt(ss / (na + nb - 2));
        return (ma - mb) / pooled;
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }
}
