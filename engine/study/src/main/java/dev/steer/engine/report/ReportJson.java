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
 *  "traits":{"NAME":{"count","buckets","cliff","sweet_spots","layers"}, ...},
 *  "layers":{"12":{"count":..,"cliff":{..} or null}, ...}}
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
