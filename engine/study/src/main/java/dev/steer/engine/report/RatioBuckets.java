package dev.steer.engine.report;

import dev.steer.engine.BadInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * The ranges of the validation table, given by their edges: {@code 0, e1, ..., ek} gives {@code [0, e1)}, ...,
 * {@code [ek, ∞)}. The first edge is always 0 (a ratio is a strength, never negative) so every run has a bucket.
 *
 * @param edges strictly increasing, starting at 0
 */
public record RatioBuckets(List<Double> edges) {
    /** The seed's (DESIGN.md's) edges: 0, 0.3, 0.5, 0.8, 1.0, 1.3. */
    public static final RatioBuckets SEED = new RatioBuckets(List.of(0.0, 0.3, 0.5, 0.8, 1.0, 1.3));

    public RatioBuckets {
        edges = List.copyOf(edges);
        if (edges.isEmpty() || edges.get(0) != 0.0) throw new IllegalArgumentException("edges must start at 0, were " + edges);
        for (int i = 1; i < edges.size(); i++)
            if (!(edges.get(i) > edges.get(i - 1)) || !Double.isFinite(edges.get(i)))
                throw new IllegalArgumentException("edges must increase and be finite, were " + edges);
    }

    /**
     * {@code --buckets 0.3,0.5,0.8,1,1.3} (0 may be given first or left out): edges as the flag takes them.
     *
     * @throws BadInputException naming the flag and the value when an edge is not a number, not positive, or not
     *                           above the previous one
     */
    public static RatioBuckets parse(String text, String flag) {
        List<Double> edges = new ArrayList<>();
        edges.add(0.0);
        String[] parts = text.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            double x;
            try {
                x = Double.parseDouble(p);
            } catch (NumberFormatException e) {
                throw new BadInputException(flag + " " + text + ": '" + p + "' is not a number (expected ascending ratio edges, e.g. 0.3,0.5,0.8,1.0,1.3)");
            }
            if (i == 0 && x == 0) continue;
            if (!(x > 0) || !Double.isFinite(x))
                throw new BadInputException(flag + " " + text + ": edge " + p + " must be a finite ratio > 0");
            if (!(x > edges.get(edges.size() - 1)))
                throw new BadInputException(flag + " " + text + ": edge " + p + " must be above the previous edge "
                        + RatioBucket.edge(edges.get(edges.size() - 1)));
            edges.add(x);
        }
        if (edges.size() < 2) throw new BadInputException(flag + " " + text + ": give at least one edge above 0");
        return new RatioBuckets(edges);
    }

    /** The ranges in ratio order, the last unbounded. */
    public List<RatioBucket> buckets() {
        List<RatioBucket> out = new ArrayList<>(edges.size());
        for (int i = 0; i < edges.size(); i++)
            out.add(RatioBucket.between(edges.get(i), i + 1 < edges.size() ? edges.get(i + 1) : Double.POSITIVE_INFINITY));
        return out;
    }

    /** The bucket of a ratio ≥ 0. */
    public RatioBucket of(double ratio) {
        if (!(ratio >= 0)) throw new IllegalArgumentException("ratio must be >= 0, got " + ratio);
        List<RatioBucket> bs = buckets();
        for (RatioBucket b : bs) if (ratio < b.hi()) return b;
        throw new AssertionError("the last bucket is unbounded");
    }

    /** The edges as {@code --buckets} takes them (0 left out), e.g. "0.3,0.5,0.8,1.0,1.3". */
    public String cliValue() {
        return String.join(",", edges.subList(1, edges.size()).stream().map(RatioBucket::edge).toList());
    }
}
