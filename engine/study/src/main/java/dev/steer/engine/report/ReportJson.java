package dev.steer.engine.report;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.util.Map;
import java.util.Optional;

/**
 * {@code steer report --format json}: one object,
 * <pre>
 * {"count":N,
 *  "buckets":[{"range":"0.0-0.3","count":..,"avg_coherence":..,"avg_delta":..,"pct_coherent":..}, ...6 rows],
 *  "cliff":{"ratio":..,"window":..,"mean_coherence":..} or null,
 *  "sweet_spots":{"conservative":"0.3-0.5" or null,"balanced":..,"aggressive":..},
 *  "cliff_note": why the pooled and per-layer cliffs disagree, or null,
 *  "traits":{"NAME":{"count","buckets","cliff","sweet_spots","cliff_note","layers"}, ...},
 *  "layers":{"12":{"count":..,"cliff":{..} or null}, ...},
 *  "settings":{"coherence_threshold":70,"bucket_edges":[0,0.3,..],"sweet_spot_rule":"..","seed_question_rules":".."},
 *  "seed_questions":[{"trait","runs","cliff","cliff_near_1_0_to_1_15":"yes|no|no data","sweet_runs",
 *                     "sweet_pct_coherent","sweet_avg_delta","below_runs","below_avg_delta","sweet_spot_0_5_to_0_8"}, ...]}
 * </pre>
 * Averages of an empty bucket are null; pct_coherent is a percentage (0-100). Numbers are unrounded.
 */
public final class ReportJson {
    private ReportJson() {
    }

    public static String render(LawReport r) {
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(toJson(r));
    }

    public static JsonObject toJson(LawReport r) {
        JsonObject o = section(r.overall(), false);
        JsonObject traits = new JsonObject();
        r.traits().forEach((t, s) -> traits.add(t, section(s, true)));
        o.add("traits", traits);
        o.add("layers", layers(r.layers()));
        JsonObject settings = new JsonObject();
        settings.addProperty("coherence_threshold", r.settings().coherenceThreshold());
        JsonArray edges = new JsonArray();
        r.settings().buckets().edges().forEach(edges::add);
        settings.add("bucket_edges", edges);
        settings.addProperty("sweet_spot_rule", SweetSpots.rule(r.settings().coherenceThreshold()));
        settings.addProperty("seed_question_rules", SeedClaims.rules(r.settings().coherenceThreshold()));
        o.add("settings", settings);
        JsonArray claims = new JsonArray();
        for (SeedClaims c : r.claims()) claims.add(claim(c));
        o.add("seed_questions", claims);
        return o;
    }

    private static JsonObject claim(SeedClaims c) {
        JsonObject o = new JsonObject();
        o.addProperty("trait", c.trait());
        o.addProperty("runs", c.runs());
        o.add("cliff", cliff(c.cliff()));
        o.addProperty("cliff_near_1_0_to_1_15", c.cliffNear().word());
        o.addProperty("sweet_runs", c.sweetRuns());
        o.addProperty("sweet_pct_coherent", c.sweetPctCoherent());
        o.addProperty("sweet_avg_delta", c.sweetAvgDelta());
        o.addProperty("below_runs", c.belowRuns());
        o.addProperty("below_avg_delta", c.belowAvgDelta());
        o.addProperty("sweet_spot_0_5_to_0_8", c.sweetSpot().word());
        return o;
    }

    private static JsonObject section(LawReport.Section s, boolean withLayers) {
        JsonObject o = new JsonObject();
        o.addProperty("count", s.count());
        JsonArray buckets = new JsonArray();
        for (BucketStats b : s.buckets()) {
            JsonObject row = new JsonObject();
            row.addProperty("range", b.bucket().label());
            row.addProperty("count", b.count());
            row.addProperty("avg_coherence", b.avgCoherence());
            row.addProperty("avg_delta", b.avgDelta());
            row.addProperty("pct_coherent", b.pctCoherent());
            buckets.add(row);
        }
        o.add("buckets", buckets);
        o.add("cliff", cliff(s.cliff()));
        JsonObject spots = new JsonObject();
        spots.addProperty("conservative", label(s.sweetSpots().conservative()));
        spots.addProperty("balanced", label(s.sweetSpots().balanced()));
        spots.addProperty("aggressive", label(s.sweetSpots().aggressive()));
        o.add("sweet_spots", spots);
        o.addProperty("cliff_note", s.cliffNote());
        if (withLayers) o.add("layers", layers(s.layers()));
        return o;
    }

    private static JsonObject layers(Map<Integer, LawReport.LayerCliff> layers) {
        JsonObject o = new JsonObject();
        layers.forEach((l, lc) -> {
            JsonObject e = new JsonObject();
            e.addProperty("count", lc.count());
            e.add("cliff", cliff(lc.cliff()));
            o.add(Integer.toString(l), e);
        });
        return o;
    }

    private static com.google.gson.JsonElement cliff(Optional<Cliff> c) {
        if (c.isEmpty()) return JsonNull.INSTANCE;
        JsonObject o = new JsonObject();
        o.addProperty("ratio", c.get().ratio());
        o.addProperty("window", c.get().window());
        o.addProperty("mean_coherence", c.get().meanCoherence());
        return o;
    }

    private static String label(RatioBucket b) {
        return b == null ? null : b.label();
    }
}
