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
 * the same per trait, the cliff per layer (over all traits, and within each trait), and the seed's questions
 * answered per trait ({@link SeedClaims}).
 */
public record LawReport(ReportSettings settings, Section overall, SortedMap<String, Section> traits,
                        SortedMap<Integer, LayerCliff> layers, List<SeedClaims> claims) {

    /**
     * Table, cliff and sweet spots of a set of runs.
     *
     * @param layers    cliff per layer within this set; empty for {@link LawReport#overall()}, whose per-layer
     *                  breakdown is {@link LawReport#layers()}
     * @param cliffNote why the pooled cliff and the per-layer cliffs disagree ({@link CliffAgreement}); null when they agree
     */
    public record Section(int count, List<BucketStats> buckets, Optional<Cliff> cliff, SweetSpots sweetSpots,
                          SortedMap<Integer, LayerCliff> layers, String cliffNote) {
    }

    /** The cliff among one layer's runs. */
    public record LayerCliff(int count, Optional<Cliff> cliff) {
    }

    /** Builds the report with the seed's buckets and coherence threshold 70. */
    public static LawReport build(List<RunPoint> points) {
        return build(points, ReportSettings.DEFAULT);
    }

    /** Builds the report; the window of every cliff is {@link Cliff#DEFAULT_WINDOW}. */
    public static LawReport build(List<RunPoint> points, ReportSettings settings) {
        SortedMap<String, Section> traits = new TreeMap<>();
        List<SeedClaims> claims = new ArrayList<>();
        group(points, RunPoint::trait).forEach((t, ps) -> {
            Section s = section(ps, layerCliffs(ps), settings);
            traits.put(t, s);
            claims.add(SeedClaims.of(t, ps, s.cliff(), settings));
        });
        SortedMap<Integer, LayerCliff> layers = layerCliffs(points);
        Section overall = section(points, new TreeMap<>(), settings);
        overall = new Section(overall.count(), overall.buckets(), overall.cliff(), overall.sweetSpots(), overall.layers(),
                CliffAgreement.explain(overall.cliff(), layers));
        return new LawReport(settings, overall, traits, layers, List.copyOf(claims));
    }

    private static Section section(List<RunPoint> ps, SortedMap<Integer, LayerCliff> layers, ReportSettings settings) {
        List<BucketStats> table = BucketStats.table(ps, settings);
        Optional<Cliff> cliff = Cliff.find(ps);
        return new Section(ps.size(), table, cliff, SweetSpots.choose(table), layers, CliffAgreement.explain(cliff, layers));
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
