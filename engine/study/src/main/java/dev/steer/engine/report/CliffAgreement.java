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
 * layers at the same ratios pull it up. Null when they agree (every layer's cliff lies within {@link #TOLERANCE} of
 * the pooled one, or neither the pool nor any layer has a cliff) or there is only one layer.
 */
public final class CliffAgreement {
    private CliffAgreement() {
    }

    /** Two cliffs closer than this (in ratio) agree: a window's first run moves by about this between neighbours. */
    public static final double TOLERANCE = 0.1;

    public static String explain(Optional<Cliff> pooled, Map<Integer, LawReport.LayerCliff> layers) {
        if (layers.size() < 2) return null;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        List<String> without = new ArrayList<>(), each = new ArrayList<>();
        int with = 0;
        boolean agree = true;
        for (var e : layers.entrySet()) {
            Optional<Cliff> c = e.getValue().cliff();
            each.add("layer " + e.getKey() + (c.isPresent() ? " at " : " ") + c.map(x -> String.format(Locale.ROOT, "%.3f", x.ratio())).orElse("none"));
            if (c.isPresent()) {
                double r = c.get().ratio();
                lo = Math.min(lo, r);
                hi = Math.max(hi, r);
                with++;
                if (pooled.isEmpty() || Math.abs(pooled.get().ratio() - r) > TOLERANCE) agree = false;
            } else {
                without.add(Integer.toString(e.getKey()));
                if (pooled.isPresent()) agree = false;
            }
        }
        if (agree) return null;
        String list = String.join(", ", each);
        if (pooled.isEmpty())
            return String.format(Locale.ROOT, "no pooled cliff, yet %d of %d layers have one (%s): the pooled windows mix "
                    + "those layers' broken runs with coherent runs of other layers at the same ratios; read the per-layer cliffs.",
                    with, layers.size(), list);
        double p = pooled.get().ratio();
        if (with == 0)
            return String.format(Locale.ROOT, "pooled cliff %.3f, but no layer has a cliff of its own (%s): each layer's broken "
                    + "runs are too few or too scattered for a window of their own, and only pooled do they fill one.", p, list);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "pooled cliff %.3f; per-layer cliffs: %s. ", p, list));
        if (p < lo) sb.append("The pooled cliff is below every layer's own: pooled windows mix layers, and runs that break "
                + "early in several layers add up to a broken window before any one layer has a broken window of its own.");
        else if (p > hi) sb.append("The pooled cliff is above every layer's own: coherent runs of other layers at the same "
                + "ratios keep the pooled windows above 50 until past the layers' own cliffs.");
        else sb.append("The pooled cliff lies between the layers' own: a pooled window sorted by ratio holds runs of early- "
                + "and late-breaking layers together, so it breaks between them.");
        if (!without.isEmpty())
            sb.append(String.format(Locale.ROOT, " Layer%s %s never break%s on average, so the pooled cliff is not a cliff of %s.",
                    without.size() > 1 ? "s" : "", String.join(", ", without), without.size() > 1 ? "" : "s",
                    without.size() > 1 ? "those layers" : "that layer"));
        sb.append(" Where the layers' cliffs differ, the per-layer cliffs are the ones to compare with the law.");
        return sb.toString();
    }
}
