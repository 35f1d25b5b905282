package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code steer info|norms|generate} end to end on the tiny fixture, against the transformers reference. */
class GenerateCommandTest {
    static JsonObject ref;
    @TempDir
    static Path tmp;
    static Path vectorJson;

    @BeforeAll
    static void setUp() throws Exception {
        ref = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        vectorJson = tmp.resolve("v.json");
        Files.writeString(vectorJson, ref.getAsJsonObject("steering").getAsJsonArray("vector").toString());
    }

    static String prompt(int i) {
        return ref.getAsJsonArray("prompts").get(i).getAsJsonObject().get("text").getAsString();
    }

    @Test
    void infoDescribesTheCheckpoint() {
        CliRun r = CliRun.of("info", "--model", CliRun.TINY.toString(), "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        assertEquals(4, o.get("num_layers").getAsInt());
        assertEquals(64, o.get("hidden_size").getAsInt());
        assertEquals("sliding_attention", o.getAsJsonArray("layer_types").get(0).getAsString());
        assertEquals("full_attention", o.getAsJsonArray("layer_types").get(1).getAsString());
        // embed 384x64 + 4 layers x (q 96x64 + k 48x64 + v 48x64 + o 64x96 + gate/up 160x64 x2 + down 64x160 + 4 norms x 64) + final norm 64
        long perLayer = 96 * 64 + 48 * 64 + 48 * 64 + 64 * 96 + 3 * 160 * 64 + 4 * 64;
        assertEquals(384 * 64 + 4 * perLayer + 64, o.get("parameters").getAsLong());
    }

    @Test
    void normsMatchTheReference() {
        CliRun r = CliRun.of("norms", "--model", CliRun.TINY.toString(), "--format", "json",
                "--prompt", prompt(0), "--prompt", prompt(1), "--prompt", prompt(2), "--prompt", prompt(3));
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        JsonArray expected = ref.getAsJsonArray("activation_norm_mean");
        for (int l = 0; l < 4; l++)
            assertEquals(expected.get(l).getAsDouble(), o.getAsJsonArray("activation_norm_mean").get(l).getAsDouble(), 1e-3);
        for (int p = 0; p < 4; p++) {
            JsonObject got = o.getAsJsonArray("prompts").get(p).getAsJsonObject();
            JsonObject want = ref.getAsJsonArray("prompts").get(p).getAsJsonObject();
            assertEquals(want.getAsJsonArray("ids"), got.getAsJsonArray("ids"));
            for (int l = 0; l < 4; l++) {
                assertEquals(want.getAsJsonArray("resid_norm_mean").get(l).getAsDouble(), got.getAsJsonArray("resid_norm_mean").get(l).getAsDouble(), 1e-3);
                assertEquals(want.getAsJsonArray("resid_norm_last").get(l).getAsDouble(), got.getAsJsonArray("resid_norm_last").get(l).getAsDouble(), 1e-3);
            }
        }
    }

    @Test
    void greedyBatchPlainAndSteeredGiveTheReferenceTokens() {
        greedyGivesTheReferenceTokens();
    }

    /** Plain and steered greedy tokens of the four reference prompts in one batch, and the steered telemetry. */
    static void greedyGivesTheReferenceTokens(String... backend) {
        String[] base = {"generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "12", "--no-stop",
                "--prompt", prompt(0), "--prompt", prompt(1), "--prompt", prompt(2), "--prompt", prompt(3)};
        String[] plainArgs = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(backend)).toArray(String[]::new);
        CliRun plain = CliRun.of(plainArgs);
        assertEquals(0, plain.code(), plain.err());
        String coef = ref.get("greedy_steer_coef").getAsString();
        int layer = ref.getAsJsonObject("steering").get("layer").getAsInt();
        String[] steeredArgs = java.util.Arrays.copyOf(plainArgs, plainArgs.length + 2);
        steeredArgs[plainArgs.length] = "--steer";
        steeredArgs[plainArgs.length + 1] = layer + ":" + coef + ":" + vectorJson;
        CliRun steered = CliRun.of(steeredArgs);
        assertEquals(0, steered.code(), steered.err());
        for (int p = 0; p < 4; p++) {
            JsonObject g = ref.getAsJsonArray("greedy").get(p).getAsJsonObject();
            JsonObject pr = plain.json().getAsJsonArray("results").get(p).getAsJsonObject();
            JsonObject st = steered.json().getAsJsonArray("results").get(p).getAsJsonObject();
            assertEquals(g.getAsJsonArray("plain"), pr.getAsJsonArray("tokens"), "plain, prompt " + p);
            assertEquals(g.getAsJsonArray("steered"), st.getAsJsonArray("tokens"), "steered, prompt " + p);
            assertEquals(prompt(p), pr.get("prompt").getAsString());
            JsonObject tel = st.getAsJsonArray("telemetry").get(0).getAsJsonObject();
            assertEquals("blocks.1.hook_resid_post", tel.get("hook").getAsString());
            double ratio = tel.get("live_ratio").getAsDouble();
            double expected = Double.parseDouble(coef) * tel.get("vector_norm").getAsDouble() / tel.get("steered_norm_mean").getAsDouble();
            assertEquals(expected, ratio, 1e-9);
            assertEquals(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids").size() - 1, tel.get("prompt_tokens").getAsInt());
            assertEquals(11, tel.get("response_tokens").getAsInt());
            assertTrue(pr.getAsJsonArray("telemetry").isEmpty());
        }
    }

    @Test
    void textOutputShowsTheCompletionAndTheLiveRatio() {
        CliRun r = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--max-new-tokens", "4", "--prompt", prompt(1),
                "--steer", "1:3.0:" + vectorJson);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("blocks.1.hook_resid_post") && r.out().contains("live ratio"), r.out());
    }

    @Test
    void chatWrapsThePromptInTheTemplate() {
        CliRun r = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "3", "--prompt", "Hello", "--chat");
        assertEquals(0, r.code(), r.err());
        assertEquals(3, r.json().getAsJsonArray("results").get(0).getAsJsonObject().getAsJsonArray("tokens").size());
    }

    @Test
    void samplingIsSeededAndBatchIndependent() {
        String[] one = {"generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "8", "--no-stop",
                "--temperature", "1.0", "--top-p", "0.9", "--seed", "42", "--prompt", prompt(1)};
        CliRun a = CliRun.of(one);
        CliRun b = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "8", "--no-stop",
                "--temperature", "1.0", "--top-p", "0.9", "--seed", "42", "--prompt", prompt(0), "--prompt", prompt(1));
        assertEquals(0, a.code(), a.err());
        assertEquals(a.json().getAsJsonArray("results").get(0).getAsJsonObject().getAsJsonArray("tokens"),
                b.json().getAsJsonArray("results").get(1).getAsJsonObject().getAsJsonArray("tokens"));
    }
}
