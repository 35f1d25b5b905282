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
    private static final String[] HEAD = {"Ratio", "Runs", "Avg Coherence", "Avg Delta", "% Coherent (≥70)"};

    private ReportText() {
    }

    public static String render(LawReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("All traits: ").append(r.overall().count())
                .append(" runs (ratio = |coef|·‖v‖/‖h‖; coherent = coherence ≥ 70)\n\n");
        section(sb, r.overall());
        if (!r.layers().isEmpty()) {
            sb.append("\nCliff by layer (all traits):\n");
            layers(sb, r.layers());
        }
        r.traits().forEach((t, s) -> {
            sb.append("\n== ").append(t).append(": ").append(s.count()).append(" runs ==\n\n");
            section(sb, s);
            sb.append("\nCliff by layer:\n");
            layers(sb, s.layers());
        });
        return sb.toString();
    }

    /** The bucket table alone, aligned, as DESIGN.md shows it. */
    public static String table(List<BucketStats> buckets) {
        String[][] rows = new String[buckets.size()][];
        for (int i = 0; i < rows.length; i++) {
            BucketStats b = buckets.get(i);
            rows[i] = new String[] {b.bucket().label(), Integer.toString(b.count()),
                    b.count() == 0 ? "-" : fmt("%.1f", b.avgCoherence()),
                    b.count() == 0 ? "-" : fmt("%+.1f", b.avgDelta()),
                    b.count() == 0 ? "-" : fmt("%.0f%%", b.pctCoherent())};
        }
        return grid(HEAD, rows, new boolean[] {false, true, true, true, true});
    }

    private static void section(StringBuilder sb, LawReport.Section s) {
        sb.append(table(s.buckets()));
        sb.append("\nCliff: ").append(cliff(s.cliff())).append('\n');
        SweetSpots sp = s.sweetSpots();
        sb.append("Sweet spots: conservative ").append(label(sp.conservative()))
                .append(", balanced ").append(label(sp.balanced()))
                .append(", aggressive ").append(label(sp.aggressive())).append('\n');
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
