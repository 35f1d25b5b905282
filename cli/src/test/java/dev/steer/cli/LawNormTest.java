package dev.steer.cli;

import com.google.gson.JsonObject;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One law norm, one name: {@code activation_norm} (mean ‖h_L‖ over the prompt's tokens, BOS excluded, before the
 * add) is the same number in {@code steer norms}, {@code steer ratio}, {@code steer generate}'s telemetry and the
 * metadata {@code steer extract} writes, for the same single prompt, and the ratio each reports is
 * {@code |coef| × ‖v‖ / activation_norm}.
 */
class LawNormTest {
    static final String PROMPT = "The river runs past the old mill";
    static final int LAYER = 2;

    @TempDir
    Path tmp;

    @Test
    void everyCommandReportsTheSameActivationNorm() throws Exception {
        Path vector = Files.writeString(tmp.resolve("v.json"), vectorJson());
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"), PROMPT + "\n");

        CliRun norms = CliRun.of("norms", "--model", CliRun.TINY.toString(), "--prompt", PROMPT, "--format", "json");
        assertEquals(0, norms.code(), norms.err());
        double fromNorms = norms.json().getAsJsonArray("activation_norm").get(LAYER).getAsDouble();
        double perPrompt = norms.json().getAsJsonArray("prompts").get(0).getAsJsonObject()
                .getAsJsonArray("activation_norm").get(LAYER).getAsDouble();
        double withBos = norms.json().getAsJsonArray("prompts").get(0).getAsJsonObject()
                .getAsJsonArray("resid_norm_mean").get(LAYER).getAsDouble();
        assertTrue(fromNorms > 0);
        assertEquals(fromNorms, perPrompt, 1e-12 * fromNorms, "one prompt: pooled = per prompt");
        assertTrue(Math.abs(withBos - fromNorms) > 1e-3 * fromNorms, "BOS excluded moves the norm: " + withBos + " vs " + fromNorms);

        CliRun ratio = CliRun.of("ratio", "--model", CliRun.TINY.toString(), "--vector", vector.toString(),
                "--layer", Integer.toString(LAYER), "--coef", "-3", "--prompts", prompts.toString(), "--format", "json");
        assertEquals(0, ratio.code(), ratio.err());
        JsonObject r = ratio.json();
        assertEquals(fromNorms, r.get("activation_norm").getAsDouble(), 1e-5 * fromNorms, "ratio");
        assertEquals(3 * 2.0 / r.get("activation_norm").getAsDouble(), r.get("ratio").getAsDouble(), 1e-9, "unsigned ratio");

        CliRun gen = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", PROMPT, "--max-new-tokens", "4",
                "--steer", LAYER + ":-3:" + vector, "--format", "json");
        assertEquals(0, gen.code(), gen.err());
        JsonObject t = gen.json().getAsJsonArray("results").get(0).getAsJsonObject().getAsJsonArray("telemetry").get(0).getAsJsonObject();
        assertEquals(fromNorms, t.get("activation_norm").getAsDouble(), 1e-5 * fromNorms, "generate");
        assertEquals(t.get("activation_norm").getAsDouble(), t.get("prompt_norm_mean").getAsDouble(), 0, "same quantity");
        assertEquals(-3.0, t.get("coef").getAsDouble(), 0);
        assertEquals(3 * 2.0 / t.get("activation_norm").getAsDouble(), t.get("ratio").getAsDouble(), 1e-9);
        assertEquals(3 * 2.0 / t.get("steered_norm_mean").getAsDouble(), t.get("steered_ratio").getAsDouble(), 1e-9);

        Path out = tmp.resolve("vectors");
        CliRun extract = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--positive", prompts.toString(),
                "--negative", prompts.toString(), "--layers", Integer.toString(LAYER), "--method", "mean_diff",
                "--out", out.toString(), "--format", "json");
        assertEquals(0, extract.code(), extract.err());
        var meta = VectorFile.read(out.resolve("mean_diff_layer" + LAYER + ".safetensors"), null).provenance().metadata();
        assertEquals(fromNorms, Double.parseDouble(meta.get("activation_norm")), 1e-5 * fromNorms, "extract");
    }

    /** A vector of norm 2 in the tiny model's hidden size. */
    private static String vectorJson() throws Exception {
        int hidden = com.google.gson.JsonParser.parseString(Files.readString(CliRun.TINY.resolve("config.json")))
                .getAsJsonObject().get("hidden_size").getAsInt();
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < hidden; i++) sb.append(i == 0 ? "" : ",").append(i == 0 ? "2" : "0");
        return sb.append("]").toString();
    }
}
