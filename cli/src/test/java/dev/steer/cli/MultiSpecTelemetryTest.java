package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Several specs at one layer: one telemetry entry per spec, each with its own coef and ratio (not one merged entry
 * with coef 1), while the row gets their sum: the same tokens as the one spec whose coef is the sum.
 */
class MultiSpecTelemetryTest {
    static final String PROMPT = "The river runs past the old mill";

    @TempDir
    Path tmp;

    @Test
    void oneEntryPerSpecAndTheirSumIsWhatSteers() throws Exception {
        int hidden = com.google.gson.JsonParser.parseString(Files.readString(CliRun.TINY.resolve("config.json")))
                .getAsJsonObject().get("hidden_size").getAsInt();
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < hidden; i++) sb.append(i == 0 ? "" : ",").append(Math.cos(0.3 * i));
        Path v = Files.writeString(tmp.resolve("v.json"), sb.append("]").toString());

        JsonObject two = run("--steer", "1:6:" + v, "--steer", "1:-2.5:" + v);
        JsonObject one = run("--steer", "1:3.5:" + v);
        JsonObject a = two.getAsJsonArray("results").get(0).getAsJsonObject();
        JsonObject b = one.getAsJsonArray("results").get(0).getAsJsonObject();
        assertEquals(b.get("tokens"), a.get("tokens"), "6v + (-2.5)v steers as 3.5v");

        JsonArray t = a.getAsJsonArray("telemetry");
        assertEquals(2, t.size(), "one entry per spec");
        double h = t.get(0).getAsJsonObject().get("activation_norm").getAsDouble();
        double vn = t.get(0).getAsJsonObject().get("vector_norm").getAsDouble();
        assertEquals(6.0, t.get(0).getAsJsonObject().get("coef").getAsDouble(), 0);
        assertEquals(-2.5, t.get(1).getAsJsonObject().get("coef").getAsDouble(), 0);
        assertEquals(6.0 * vn / h, t.get(0).getAsJsonObject().get("ratio").getAsDouble(), 1e-9);
        assertEquals(2.5 * vn / h, t.get(1).getAsJsonObject().get("ratio").getAsDouble(), 1e-9);
        assertEquals(h, t.get(1).getAsJsonObject().get("activation_norm").getAsDouble(), 0, "one layer, one norm");
        assertEquals(h, b.getAsJsonArray("telemetry").get(0).getAsJsonObject().get("activation_norm").getAsDouble(),
                1e-9 * h, "the prompt norm is before any add at the layer");
    }

    private static JsonObject run(String... steer) {
        String[] args = new String[8 + steer.length];
        String[] base = {"generate", "--model", CliRun.TINY.toString(), "--prompt", PROMPT, "--max-new-tokens", "6", "--format"};
        System.arraycopy(base, 0, args, 0, base.length);
        String[] all = new String[args.length + 1];
        System.arraycopy(base, 0, all, 0, base.length);
        all[base.length] = "json";
        System.arraycopy(steer, 0, all, base.length + 1, steer.length);
        CliRun r = CliRun.of(all);
        assertEquals(0, r.code(), r.err());
        return r.json();
    }
}
