package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --format json}'s {@code settings}: a script rebuilds the command from it alone, and the rebuilt
 * command gives the same tokens. {@code --prompts FILE}; the note on a vector applied at another layer.
 */
class GenerateSettingsTest {
    @TempDir
    static Path tmp;
    static Path vectorJson, promptFile, layer2Vector;
    static float[] values;

    @BeforeAll
    static void setUp() throws Exception {
        JsonObject ref = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        JsonArray v = ref.getAsJsonObject("steering").getAsJsonArray("vector");
        vectorJson = tmp.resolve("v.json");
        Files.writeString(vectorJson, v.toString());
        values = new float[v.size()];
        for (int i = 0; i < values.length; i++) values[i] = v.get(i).getAsFloat();
        promptFile = tmp.resolve("prompts.txt");
        Files.writeString(promptFile, "The weather today\n\nMy favourite food is\n");
        layer2Vector = tmp.resolve("mean_diff_layer2.safetensors");
        VectorFile.write(layer2Vector, values, Map.of("layer", "2", "method", "mean_diff"));
    }

    /** The reference: SHA-256 over the values as little-endian float32, computed here independently. */
    static String sha256(float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }

    /** What a script does: the command line from {@code settings} alone, flag by flag. */
    static List<String> rebuild(JsonObject s) {
        List<String> a = new ArrayList<>(List.of("generate", "--format", "json"));
        a.addAll(List.of("--model", s.get("model").getAsString(), "--backend", s.get("backend").getAsString()));
        if (!s.get("precision").isJsonNull()) a.addAll(List.of("--precision", s.get("precision").getAsString()));
        for (JsonElement p : s.getAsJsonArray("prompts")) a.addAll(List.of("--prompt", p.getAsString()));
        if (s.get("chat").getAsBoolean()) a.add("--chat");
        if (s.get("no_stop").getAsBoolean()) a.add("--no-stop");
        for (String k : List.of("max_new_tokens", "temperature", "top_p", "seed", "positions", "vector_key", "telemetry_layers"))
            if (!s.get(k).isJsonNull()) a.addAll(List.of("--" + k.replace('_', '-'), s.get(k).getAsString()));
        for (JsonElement e : s.getAsJsonArray("steer")) a.addAll(List.of("--steer", e.getAsJsonObject().get("arg").getAsString()));
        return a;
    }

    static CliRun run(List<String> args) {
        return CliRun.of(args.toArray(String[]::new));
    }

    static List<JsonArray> tokens(CliRun r) {
        List<JsonArray> out = new ArrayList<>();
        for (JsonElement e : r.json().getAsJsonArray("results")) out.add(e.getAsJsonObject().getAsJsonArray("tokens"));
        return out;
    }

    @Test
    void settingsRebuildTheCommandAndTheRebuiltCommandGivesTheSameTokens() throws Exception {
        // Every setting away from its default, sampling on: a setting the rebuild missed changes the tokens.
        List<String> first = List.of("generate", "--format", "json", "--model", CliRun.TINY.toString(), "--prompts", promptFile.toString(),
                "--max-new-tokens", "7", "--temperature", "0.9", "--top-p", "0.95", "--seed", "11", "--positions", "response",
                "--no-stop", "--telemetry-layers", "0-1",
                "--steer", "1:2.5:" + vectorJson, "--steer", "2:ratio=-0.4:" + vectorJson + ":all");
        CliRun a = run(first);
        assertEquals(0, a.code(), a.err());
        JsonObject s = a.json().getAsJsonObject("settings");
        assertEquals(List.of("settings", "model", "backend", "device", "results"), List.copyOf(a.json().keySet()));
        assertEquals(7, s.get("max_new_tokens").getAsInt());
        assertEquals(0.9, s.get("temperature").getAsDouble(), 0.0);
        assertEquals(0.95, s.get("top_p").getAsDouble(), 0.0);
        assertEquals(11, s.get("seed").getAsLong());
        assertEquals("response", s.get("positions").getAsString());
        assertFalse(s.get("chat").getAsBoolean());
        assertTrue(s.get("no_stop").getAsBoolean());
        assertEquals("0-1", s.get("telemetry_layers").getAsString());
        assertEquals("cpu", s.get("backend").getAsString());
        assertTrue(s.get("precision").isJsonNull(), "not given: the backend's default");
        assertTrue(s.get("vector_key").isJsonNull());
        assertEquals(promptFile.toString(), s.get("prompts_file").getAsString());
        // The file's prompts, blank line skipped, in order.
        assertEquals(List.of("The weather today", "My favourite food is"), s.getAsJsonArray("prompts").asList().stream().map(JsonElement::getAsString).toList());
        JsonArray specs = s.getAsJsonArray("steer");
        assertEquals(2, specs.size());
        JsonObject c = specs.get(0).getAsJsonObject(), r = specs.get(1).getAsJsonObject();
        assertEquals("1:2.5:" + vectorJson + ":response", c.get("arg").getAsString(), "positions spelled out: the command's --positions");
        assertEquals(2.5, c.get("coef").getAsDouble(), 0.0);
        assertEquals("2:ratio=-0.4:" + vectorJson + ":all", r.get("arg").getAsString());
        assertEquals(-0.4, r.get("ratio").getAsDouble(), 0.0);
        assertEquals("all", r.get("positions").getAsString());
        assertEquals(sha256(values), c.get("sha256").getAsString());
        assertEquals(sha256(values), r.get("sha256").getAsString());
        assertTrue(s.get("version").getAsString().startsWith("steer "));

        CliRun b = run(rebuild(s));
        assertEquals(0, b.code(), b.err());
        assertEquals(tokens(a), tokens(b));
        JsonObject s2 = b.json().getAsJsonObject("settings");
        s.add("prompts_file", com.google.gson.JsonNull.INSTANCE);
        assertEquals(s, s2, "the rebuilt command's settings are the first one's (prompts now given as --prompt)");

        // The comparison can fail: another seed samples other tokens.
        s.addProperty("seed", 12);
        assertNotEquals(tokens(a), tokens(run(rebuild(s))));
    }

    @Test
    void vectorExtractedAtAnotherLayerIsNotedOnStderr() {
        CliRun other = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hi", "--max-new-tokens", "2",
                "--steer", "1:1.0:" + layer2Vector, "--format", "json");
        assertEquals(0, other.code(), other.err());
        assertEquals("note: --steer " + layer2Vector + ": the vector was extracted at layer 2, applied here at layer 1", other.err().strip());
        other.json();   // stdout stays one JSON object
        CliRun same = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hi", "--max-new-tokens", "2",
                "--steer", "2:1.0:" + layer2Vector);
        assertEquals(0, same.code(), same.err());
        assertEquals("", same.err());
    }

    @Test
    void promptAndPromptsAreOneOrTheOther() {
        CliRun both = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hi", "--prompts", promptFile.toString());
        assertEquals(Steer.BAD_INPUT, both.code());
        assertTrue(both.err().contains("--prompt") && both.err().contains("--prompts"), both.err());
        CliRun empty = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompts", tmp.resolve("none.txt").toString());
        assertEquals(Steer.BAD_INPUT, empty.code());
        assertTrue(empty.err().contains("none.txt"), empty.err());
        assertEquals("", empty.out());
    }
}
