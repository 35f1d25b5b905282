package dev.steer.engine.report;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportRenderTest {
    @Test
    void textTableHasDesignShape() {
        String table = ReportText.table(BucketStats.table(SyntheticRuns.designShaped()));
        assertEquals("""
                | Ratio   | Runs | Avg Coherence | Avg Delta | % Coherent (≥70) |
                |---------|------|---------------|-----------|------------------|
                | 0.0-0.3 |    4 |          88.4 |      +3.1 |             100% |
                | 0.3-0.5 |    4 |          90.5 |      -5.4 |             100% |
                | 0.5-0.8 |   20 |          80.8 |      +1.0 |              85% |
                | 0.8-1.0 |   15 |          69.5 |      +8.5 |              53% |
                | 1.0-1.3 |   16 |          53.3 |     +25.5 |              19% |
                | 1.3+    |   12 |          39.3 |     +26.2 |               8% |
                """, table);
    }

    @Test
    void textReportStatesCliffSweetSpotsTraitsAndLayers() {
        String text = ReportText.render(LawReport.build(SyntheticRuns.twoTraitsTwoLayers()));
        assertTrue(text.contains("\nCliff: ratio 0.900 (first window of 5 runs by ratio with mean coherence 37.0 < 50)\n"), text);
        assertTrue(text.contains("\n== B: 6 runs ==\n"), text);
        assertTrue(text.contains("Cliff: none (no window of runs averages below 50 coherence)"), text);
        assertTrue(text.contains("Sweet spots: conservative 1.3+, balanced 1.3+, aggressive 1.3+"), text);
        assertTrue(text.contains("| 0.0-0.3 |    0 |             - |         - |                - |"), text);
        assertTrue(text.contains("|     6 |   16 |       0.400 |\n|    12 |   15 |       0.800 |"), text);
    }

    @Test
    void jsonHasTheDocumentedShape() {
        JsonObject o = JsonParser.parseString(ReportJson.render(LawReport.build(SyntheticRuns.twoTraitsTwoLayers())))
                .getAsJsonObject();
        assertEquals(List.of("count", "buckets", "cliff", "sweet_spots", "cliff_note", "traits", "layers", "settings", "seed_questions"),
                List.copyOf(o.keySet()));
        assertEquals(31, o.get("count").getAsInt());
        JsonObject first = o.getAsJsonArray("buckets").get(0).getAsJsonObject();
        assertEquals(List.of("range", "count", "avg_coherence", "avg_delta", "pct_coherent"), List.copyOf(first.keySet()));
        assertEquals("0.0-0.3", first.get("range").getAsString());
        assertEquals(4, first.get("count").getAsInt());
        assertEquals(87.5, first.get("avg_coherence").getAsDouble(), 1e-12);
        assertEquals(15.0, first.get("avg_delta").getAsDouble(), 1e-12);
        assertEquals(100.0, first.get("pct_coherent").getAsDouble(), 1e-12);
        JsonObject last = o.getAsJsonArray("buckets").get(5).getAsJsonObject();
        assertEquals("1.3+", last.get("range").getAsString());
        assertEquals(200.0 / 3, last.get("pct_coherent").getAsDouble(), 1e-12);

        assertEquals(0.9, o.getAsJsonObject("cliff").get("ratio").getAsDouble(), 0.0);
        assertEquals(37.0, o.getAsJsonObject("cliff").get("mean_coherence").getAsDouble(), 1e-12);
        assertEquals("0.3-0.5", o.getAsJsonObject("sweet_spots").get("conservative").getAsString());

        JsonObject b = o.getAsJsonObject("traits").getAsJsonObject("B");
        assertTrue(b.get("cliff").isJsonNull(), "no cliff is an explicit null");
        assertTrue(b.getAsJsonArray("buckets").get(0).getAsJsonObject().get("avg_coherence").isJsonNull());
        assertEquals(0.4, o.getAsJsonObject("traits").getAsJsonObject("A").getAsJsonObject("layers")
                .getAsJsonObject("6").getAsJsonObject("cliff").get("ratio").getAsDouble(), 0.0);
        assertEquals(0.8, o.getAsJsonObject("layers").getAsJsonObject("12").getAsJsonObject("cliff")
                .get("ratio").getAsDouble(), 0.0);
        assertEquals(16, o.getAsJsonObject("layers").getAsJsonObject("6").get("count").getAsInt());
    }

    @Test
    void emptyJsonKeepsSixNullBucketsAndNullCliff() {
        JsonObject o = JsonParser.parseString(ReportJson.render(LawReport.build(List.of()))).getAsJsonObject();
        assertEquals(6, o.getAsJsonArray("buckets").size());
        assertTrue(o.get("cliff").isJsonNull());
        assertTrue(o.getAsJsonObject("sweet_spots").get("balanced").isJsonNull());
    }
}
