package dev.steer.engine.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The ratio-law validation report ({@code steer report}): the bucket table, cliff and sweet spots over all runs,
 * the same per trait, and the cliff per layer (over all traits, and within each trait).
 */
public record LawReport(Section overall, SortedMap<String, Section> traits, SortedMap<Integer, LayerCliff> layers) {

    /**
     * Table, cliff and sweet spots of a set of runs.
     *
     * @param layers cliff per layer within this set; empty for {@link LawReport#overall()}, whose per-layer
     *               breakdown is {@link LawReport#layers()}
     */
    public record Section(int count, List<BucketStats> buckets, Optional<Cliff> cliff, SweetSpots sweetSpots,
                          SortedMap<Integer, LayerCliff> layers) {
    }

    /** The cliff among one layer's runs. */
    public record LayerCliff(int count, Optional<Cliff> cliff) {
    }

    /** Builds the report; the window of every cliff is {@link Cliff#DEFAULT_WINDOW}. */
    public static LawReport build(List<RunPoint> points) {
        SortedMap<String, Section> traits = new TreeMap<>();
        group(points, RunPoint::trait).forEach((t, ps) -> traits.put(t, section(ps, layerCliffs(ps))));
        return new LawReport(section(points, new TreeMap<>()), traits, layerCliffs(points));
    }

    private static Section section(List<RunPoint> ps, SortedMap<Integer, LayerCliff> layers) {
        List<BucketStats> table = BucketStats.table(ps);
        return new Section(ps.size(), table, Cliff.find(ps), SweetSpots.choose(table), layers);
    }

    private static SortedMap<Integer, LayerCliff> layerCliffs(List<RunPoint> ps) {
        SortedMap<Integer, LayerCliff> out = new TreeMap<>();
        group(ps, RunPoint::layer).forEach((l, lps) -> out.put(l, new LayerCliff(lps.size(), Cliff.find(lps))));
        return out;
    }

    private static <K extends Comparable<K>> Map<K, List<RunPoint>> group(List<RunPoint> ps, Function<RunPoint, K> key) {
        Map<K, List<RunPoint>> out = new TreeMap<>();
        for (RunPoint p : ps) out.computeIfAbsent(key.apply(p), k -> new ArrayList<>()).add(p);
        return out;
    }
}
