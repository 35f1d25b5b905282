package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code steer ratio} on the tiny fixture: the live ‖h‖, the coef/ratio round trip, and bad inputs. */
class RatioCommandTest {
    static JsonObject ref;
    @TempDir
    static Path tmp;
    static Path vector, prompts, promptTwo;

    @BeforeAll
    static void setUp() throws Exception {
        ref = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        vector = Files.writeString(tmp.resolve("v.json"), ref.getAsJsonObject("steering").getAsJsonArray("vector").toString());
        JsonArray texts = new JsonArray();
        for (var p : ref.getAsJsonArray("prompts")) texts.add(p.getAsJsonObject().get("text"));
        prompts = Files.writeString(tmp.resolve("prompts.json"), texts.toString());
        int detail = ref.getAsJsonObject("detail").get("prompt_index").getAsInt();
        promptTwo = Files.writeString(tmp.resolve("one.txt"), texts.get(detail).getAsString() + "\n");
    }

    static CliRun ratio(String... extra) {
        List<String> args = new ArrayList<>(List.of("ratio", "--model", CliRun.TINY.toString(), "--format", "json"));
        args.addAll(Arrays.asList(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void coefAndTargetRatioRoundTrip() {
        CliRun a = ratio("--vector", vector.toString(), "--layer", "1", "--coef", "2.5", "--prompts", prompts.toString());
        assertEquals(0, a.code(), a.err());
        JsonObject o = a.json();
        double h = o.get("activation_norm").getAsDouble(), v = o.get("vector_norm").getAsDouble();
        assertEquals(ref.getAsJsonObject("steering").get("vector_norm").getAsDouble(), v, 1e-4);
        assertEquals(2.5 * v / h, o.get("ratio").getAsDouble(), 1e-12);
        assertEquals("blocks.1.hook_resid_post", o.get("hook").getAsString());
        assertEquals(4, o.get("prompts").getAsInt());
        CliRun b = ratio("--vector", vector.toString(), "--layer", "1", "--target-ratio", Double.toString(o.get("ratio").getAsDouble()), "--prompts", prompts.toString());
        assertEquals(0, b.code(), b.err());
        assertEquals(2.5, b.json().get("coef").getAsDouble(), 1e-9);
        assertEquals(h, b.json().get("activation_norm").getAsDouble(), 0.0, "same prompts, same norm");
    }

    @Test
    void activationNormIsTheFixtureResidualWithoutBos() {
        JsonObject detail = ref.getAsJsonObject("detail");
        for (int layer = 0; layer < 4; layer++) {
            JsonArray resid = detail.getAsJsonArray("resid").get(layer).getAsJsonArray();
            double sum = 0;
            for (int pos = 1; pos < resid.size(); pos++) sum += norm(resid.get(pos).getAsJsonArray());
            CliRun r = ratio("--vector", vector.toString(), "--layer", Integer.toString(layer), "--coef", "1", "--prompts", promptTwo.toString());
            assertEquals(0, r.code(), r.err());
            assertEquals(resid.size() - 1, r.json().get("tokens").getAsInt());
            assertEquals(sum / (resid.size() - 1), r.json().get("activation_norm").getAsDouble(), 1e-4 * sum / resid.size(), "layer " + layer);
        }
    }

    @Test
    void theLawsNormIsWhatNormsAndGenerateMeasureOnTheSameTokens() {
        int layer = 2;
        CliRun r = ratio("--vector", vector.toString(), "--layer", Integer.toString(layer), "--coef", "1", "--prompts", prompts.toString());
        assertEquals(0, r.code(), r.err());
        double live = r.json().get("activation_norm").getAsDouble();
        // steer norms includes BOS in each prompt's mean; BOS's residual is the same in every prompt (position 0),
        // and the fixture's detail prompt gives it.
        double bos = norm(ref.getAsJsonObject("detail").getAsJsonArray("resid").get(layer).getAsJsonArray().get(0).getAsJsonArray());
        List<String> args = new ArrayList<>(List.of("norms", "--model", CliRun.TINY.toString(), "--format", "json"));
        List<String> gen = new ArrayList<>(List.of("generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "1",
                "--steer", layer + ":0:" + vector, "--positions", "prompt"));
        for (var p : ref.getAsJsonArray("prompts")) {
            args.addAll(List.of("--prompt", p.getAsJsonObject().get("text").getAsString()));
            gen.addAll(List.of("--prompt", p.getAsJsonObject().get("text").getAsString()));
        }
        JsonObject norms = CliRun.of(args.toArray(String[]::new)).json();
        double sum = 0;
        long tokens = 0;
        for (var p : norms.getAsJsonArray("prompts")) {
            int len = p.getAsJsonObject().getAsJsonArray("ids").size();
            sum += p.getAsJsonObject().getAsJsonArray("resid_norm_mean").get(layer).getAsDouble() * len - bos;
            tokens += len - 1;
        }
        assertEquals(tokens, r.json().get("tokens").getAsLong());
        assertEquals(sum / tokens, live, 1e-4 * live, "steer norms, BOS removed");
        // Steered generation's telemetry (coef 0, prompt positions) over the same prompts.
        CliRun g = CliRun.of(gen.toArray(String[]::new));
        assertEquals(0, g.code(), g.err());
        double tsum = 0;
        long tcount = 0;
        for (var row : g.json().getAsJsonArray("results")) {
            JsonObject t = row.getAsJsonObject().getAsJsonArray("telemetry").get(0).getAsJsonObject();
            tsum += t.get("prompt_norm_mean").getAsDouble() * t.get("prompt_tokens").getAsLong();
            tcount += t.get("prompt_tokens").getAsLong();
        }
        assertEquals(tokens, tcount);
        assertEquals(tsum / tcount, live, 1e-5 * live, "generate telemetry");
    }

    @Test
    void textOutput() {
        CliRun r = CliRun.of("ratio", "--model", CliRun.TINY.toString(), "--vector", vector.toString(), "--layer", "1",
                "--target-ratio", "0.5", "--prompts", prompts.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("||h||") && r.out().contains("coef") && r.out().contains("ratio  0.5"), r.out());
    }

    @Test
    void readsAnExtractedVectorWithItsMetadata() {
        Path out = tmp.resolve("extracted");
        CliRun e = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--positive", prompts.toString(), "--negative", promptTwo.toString(),
                "--layers", "3", "--method", "mean_diff", "--out", out.toString());
        assertEquals(0, e.code(), e.err());
        CliRun r = ratio("--vector", out.resolve("mean_diff_layer3.safetensors").toString(), "--layer", "3", "--coef", "1", "--trait", "optimism");
        assertEquals(0, r.code(), r.err());
        assertEquals("3", r.json().getAsJsonObject("vector_metadata").get("layer").getAsString());
        assertEquals(22, r.json().get("prompts").getAsInt(), "the trait's evaluation questions");
    }

    @Test
    void vectorOfAnotherHiddenSize() throws Exception {
        Path v = Files.writeString(tmp.resolve("v63.json"), Arrays.toString(new float[63]));
        BadInputTest.assertBad(ratio("--vector", v.toString(), "--layer", "1", "--coef", "1", "--prompts", prompts.toString()), "v63.json", "63", "64");
    }

    @Test
    void layerOutOfRange() {
        BadInputTest.assertBad(ratio("--vector", vector.toString(), "--layer", "4", "--coef", "1", "--prompts", prompts.toString()), "--layer", "layer 4", "0-3");
    }

    @Test
    void coefAndTargetTogetherOrNeither() {
        BadInputTest.assertBad(ratio("--vector", vector.toString(), "--layer", "1", "--coef", "1", "--target-ratio", "1", "--prompts", prompts.toString()),
                "--coef", "--target-ratio");
        BadInputTest.assertBad(ratio("--vector", vector.toString(), "--layer", "1", "--prompts", prompts.toString()), "--coef", "--target-ratio");
    }

    @Test
    void zeroVectorHasNoCoefficientForARatio() throws Exception {
        Path zero = Files.writeString(tmp.resolve("zero.json"), Arrays.toString(new float[64]));
        BadInputTest.assertBad(ratio("--vector", zero.toString(), "--layer", "1", "--target-ratio", "0.5", "--prompts", prompts.toString()), "zero.json", "zeros");
    }

    @Test
    void missingPromptFile() {
        BadInputTest.assertBad(ratio("--vector", vector.toString(), "--layer", "1", "--coef", "1", "--prompts", tmp.resolve("nope.txt").toString()), "nope.txt");
    }

    @Test
    void negativeTargetRatio() {
        BadInputTest.assertBad(ratio("--vector", vector.toString(), "--layer", "1", "--target-ratio", "-1", "--prompts", prompts.toString()), "--target-ratio", "-1");
    }

    static double norm(JsonArray v) {
        double s = 0;
        for (var x : v) s += x.getAsDouble() * x.getAsDouble();
        return Math.sqrt(s);
    }
}
