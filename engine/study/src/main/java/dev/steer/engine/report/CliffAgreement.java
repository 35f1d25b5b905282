package dev.steer.engine.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Why the pooled cliff and the per-layer cliffs of one set of runs can disagree, in words. The pooled cliff sorts
 * the runs of every layer by ratio together, so one window mixes layers: where layers break at different ratios,
 * the earliest-breaking layer's runs pull the pooled window below 50 before other layers break, and coherent
 * layers at the same ratios pull it up. Null when they agree (the pooled cliff lies within the range of the
 * layers' cliffs, every layer has one and so does the pool, or none has any) or there is only one layer.
 */
public final class CliffAgreement {
    private CliffAgreement() {
    }

    public static String explain(Optional<Cliff> pooled, Map<Integer, LawReport.LayerCliff> layers) {
        if (layers.size() < 2) return null;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        List<String> without = new ArrayList<>();
        int with = 0;
        for (var e : layers.entrySet()) {
            if (e.getValue().cliff().isPresent()) {
                double r = e.getValue().cliff().get().ratio();
                lo = Math.min(lo, r);
                hi = Math.max(hi, r);
                with++;
            } else {
                without.add(Integer.toString(e.getKey()));
            }
        }
        if (pooled.isEmpty() && with == 0) return null;
        if (pooled.isEmpty())
            return String.format(Locale.ROOT, "no pooled cliff, yet %d of %d layers have one (%s): the pooled windows mix "
                    + "those layers' broken runs with coherent runs of other layers at the same ratios; read the per-layer cliffs.",
                    with, layers.size(), range(lo, hi));
        double p = pooled.get().ratio();
        if (with == 0)
            return String.format(Locale.ROOT, "pooled cliff %.3f, but no layer has a cliff of its own: each layer's broken "
                    + "runs are too few or too scattered for a window of its own, and only pooled do they fill one.", p);
        StringBuilder sb = new StringBuilder();
        if (p < lo - 1e-12) sb.append(String.format(Locale.ROOT, "pooled cliff %.3f is below every layer's own (%s): "
                + "pooled windows mix layers, and runs that break early in several layers add up to a broken window "
                + "before any one layer has five in a row.", p, range(lo, hi)));
        else if (p > hi + 1e-12) sb.append(String.format(Locale.ROOT, "pooled cliff %.3f is above every layer's own (%s): "
                + "coherent runs of other layers at the same ratios keep the pooled windows above 50 until past the "
                + "layers' own cliffs.", p, range(lo, hi)));
        if (!without.isEmpty()) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(String.format(Locale.ROOT, "pooled cliff %.3f, but layer%s %s never break%s on average: the pooled "
                    + "cliff is set by the other layers (%s), so it is not a cliff of %s.", p, without.size() > 1 ? "s" : "",
                    String.join(", ", without), without.size() > 1 ? "" : "s", range(lo, hi), without.size() > 1 ? "those layers" : "that layer"));
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static String range(double lo, double hi) {
        return lo == hi ? String.format(Locale.ROOT, "%.3f", lo) : String.format(Locale.ROOT, "%.3f-%.3f", lo, hi);
    }
}
