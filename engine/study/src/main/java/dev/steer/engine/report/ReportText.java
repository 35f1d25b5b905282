package dev.steer.engine.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code steer report --format text}: the validation table in DESIGN.md's shape (one decimal, signed delta,
 * whole percent, "-" for an empty bucket), then cliff and sweet spots, per trait, and the cliff per layer.
 */
public final class ReportText {

    private ReportText() {
    }

    public static String render(LawReport r) {
        return render(r, false);
    }

    /**
     * @param markdown headings as Markdown headings and a blank line before every table and between statements, so
     *                 the same report reads as a Markdown document ({@code steer study}'s report.md)
     */
    public static String render(LawReport r, boolean markdown) {
        StringBuilder sb = new StringBuilder();
        double t = r.settings().coherenceThreshold();
        heading(sb, "All traits: " + r.overall().count() + " runs (ratio = |coef|·‖v‖/‖h‖; coherent = coherence ≥ "
                + fmt("%.0f", t) + ")", markdown, true);
        section(sb, r.overall(), t, markdown);
        if (!r.layers().isEmpty()) {
            line(sb, "Cliff by layer (all traits):", markdown);
            layers(sb, r.layers());
        }
        if (r.overall().cliffNote() != null) line(sb, "Pooled vs per-layer: " + r.overall().cliffNote(), markdown);
        r.traits().forEach((name, s) -> {
            heading(sb, name + ": " + s.count() + " runs", markdown, false);
            section(sb, s, t, markdown);
            line(sb, "Cliff by layer:", markdown);
            layers(sb, s.layers());
            if (s.cliffNote() != null) line(sb, "Pooled vs per-layer: " + s.cliffNote(), markdown);
        });
        if (!r.claims().isEmpty()) {
            heading(sb, "The seed's questions, per trait", markdown, false);
            sb.append(claims(r.claims()));
            sb.append('\n');
            line(sb, SeedClaims.rules(t), markdown);
        }
        if (!markdown) sb.append('\n');
        line(sb, "Sweet-spot rule: " + SweetSpots.rule(t) + ".", markdown);
        return sb.toString();
    }

    private static void heading(StringBuilder sb, String text, boolean markdown, boolean first) {
        if (markdown) sb.append(first ? "" : "\n").append("### ").append(text).append("\n\n");
        else sb.append(first ? "" : "\n== ").append(text).append(first ? "\n\n" : " ==\n\n");
    }

    /** A statement on its own line; in Markdown its own paragraph (a table after it needs the blank line too). */
    private static void line(StringBuilder sb, String text, boolean markdown) {
        sb.append(text).append('\n');
        if (markdown) sb.append('\n');
    }

    /** The across-traits table: does the cliff sit near 1.0-1.15, does 0.5-0.8 make a sweet spot; n per cell. */
    public static String claims(List<SeedClaims> claims) {
        String[][] rows = new String[claims.size()][];
        for (int i = 0; i < rows.length; i++) {
            SeedClaims c = claims.get(i);
            String cliff = c.cliffNear().word() + c.cliff().map(x -> fmt(" (%.3f)", x.ratio())).orElse(c.runs() == 0 ? "" : " (no cliff)")
                    + ", n=" + c.runs();
            String sweet = c.sweetSpot().word() + (c.sweetRuns() == 0 ? "" : (c.belowRuns() == 0 ? "*" : "")
                    + fmt(" (%.0f%% coherent, delta %+.1f", c.sweetPctCoherent(), c.sweetAvgDelta())
                    + (c.belowAvgDelta() == null ? "" : fmt(" vs %+.1f below 0.5, n=%d", c.belowAvgDelta(), c.belowRuns())) + ")")
                    + ", n=" + c.sweetRuns();
            rows[i] = new String[] {c.trait(), cliff, sweet};
        }
        return grid(new String[] {"Trait", "Cliff near 1.0-1.15?", "0.5-0.8 sweet spot?"}, rows, new boolean[] {false, false, false});
    }

    /** The bucket table alone, aligned, as DESIGN.md shows it (coherent = coherence ≥ 70). */
    public static String table(List<BucketStats> buckets) {
        return table(buckets, ReportSettings.DEFAULT_THRESHOLD);
    }

    /** The bucket table alone, aligned; the last column's header names the coherence threshold. */
    public static String table(List<BucketStats> buckets, double threshold) {
        String[][] rows = new String[buckets.size()][];
        for (int i = 0; i < rows.length; i++) {
            BucketStats b = buckets.get(i);
            rows[i] = new String[] {b.bucket().label(), Integer.toString(b.count()),
                    b.count() == 0 ? "-" : fmt("%.1f", b.avgCoherence()),
                    b.count() == 0 ? "-" : fmt("%+.1f", b.avgDelta()),
                    b.count() == 0 ? "-" : fmt("%.0f%%", b.pctCoherent())};
        }
        String[] head = {"Ratio", "Runs", "Avg Coherence", "Avg Delta", "% Coherent (≥" + fmt("%.0f", threshold) + ")"};
        return grid(head, rows, new boolean[] {false, true, true, true, true});
    }

    private static void section(StringBuilder sb, LawReport.Section s, double threshold, boolean markdown) {
        sb.append(table(s.buckets(), threshold)).append('\n');
        line(sb, "Cliff: " + cliff(s.cliff()), markdown);
        SweetSpots sp = s.sweetSpots();
        line(sb, "Sweet spots: conservative " + label(sp.conservative()) + ", balanced " + label(sp.balanced())
                + ", aggressive " + label(sp.aggressive()), markdown);
        if (!markdown) sb.append('\n');
    }

    private static void layers(StringBuilder sb, Map<Integer, LawReport.LayerCliff> layers) {
        String[][] rows = layers.entrySet().stream().map(e -> new String[] {Integer.toString(e.getKey()),
                Integer.toString(e.getValue().count()), e.getValue().cliff().map(c -> fmt("%.3f", c.ratio())).orElse("none")})
                .toArray(String[][]::new);
        sb.append(grid(new String[] {"Layer", "Runs", "Cliff ratio"}, rows, new boolean[] {true, true, true}));
    }

    private static String cliff(Optional<Cliff> c) {
        return c.map(x -> fmt("ratio %.3f (first window of %d runs by ratio with mean coherence %.1f < 50)",
                x.ratio(), x.window(), x.meanCoherence())).orElse("none (no window of runs averages below 50 coherence)");
    }

    private static String label(RatioBucket b) {
        return b == null ? "none" : b.label();
    }

    /** A Markdown table padded so its columns line up; numbers right-aligned. */
    private static String grid(String[] head, String[][] rows, boolean[] right) {
        int[] w = new int[head.length];
        for (int c = 0; c < head.length; c++) {
            w[c] = head[c].length();
            for (String[] r : rows) w[c] = Math.max(w[c], r[c].length());
        }
        StringBuilder sb = new StringBuilder();
        line(sb, head, w, new boolean[head.length]);
        sb.append('|');
        for (int c = 0; c < head.length; c++) sb.append("-".repeat(w[c] + 2)).append('|');
        sb.append('\n');
        for (String[] r : rows) line(sb, r, w, right);
        return sb.toString();
    }

    private static void line(StringBuilder sb, String[] cells, int[] w, boolean[] right) {
        sb.append('|');
        for (int c = 0; c < cells.length; c++) {
            String pad = " ".repeat(w[c] - cells[c].length());
            sb.append(' ').append(right[c] ? pad + cells[c] : cells[c] + pad).append(" |");
        }
        sb.append('\n');
    }

    private static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }
}
