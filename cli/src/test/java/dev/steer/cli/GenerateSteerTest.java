package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.steer.cli.BadInputTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --steer} in its every form: per-spec positions ({@code LAYER:COEF:FILE:POSITIONS}), ratio mode
 * ({@code LAYER:ratio=R:FILE}, the coef resolved per prompt from its own activation norm), {@code --telemetry-layers},
 * and their bad inputs, on the tiny fixture.
 */
class GenerateSteerTest {
    static final String PROMPT = "The river runs past the old mill";
    static final String OTHER = "Hi there";

    @TempDir
    static Path tmp;
    static Path vector;

    @BeforeAll
    static void setUp() throws Exception {
        vector = Files.writeString(tmp.resolve("v.json"), com.google.gson.JsonParser.parseString(Files.readString(CliRun.REFERENCE))
                .getAsJsonObject().getAsJsonObject("steering").getAsJsonArray("vector").toString());
    }

    static JsonObject generate(String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", CliRun.TINY.toString(), "--format", "json",
                "--max-new-tokens", "6", "--no-stop"));
        args.addAll(Arrays.asList(extra));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        // What ran, not how it was asked for: two spellings of the same steering compare equal.
        o.remove("settings");
        return o;
    }

    static JsonArray telemetry(JsonObject out, int row) {
        return out.getAsJsonArray("results").get(row).getAsJsonObject().getAsJsonArray("telemetry");
    }

    static JsonObject entry(JsonObject out, int row, int k) {
        return telemetry(out, row).get(k).getAsJsonObject();
    }

    static double num(JsonObject o, String key) {
        return o.get(key).getAsDouble();
    }

    /** {@code steer ratio --target-ratio R} on one prompt: its JSON. */
    static JsonObject ratioCommand(String prompt, int layer, double target) throws Exception {
        Path prompts = Files.writeString(Files.createTempFile(tmp, "prompt", ".txt"), prompt + "\n");
        CliRun r = CliRun.of("ratio", "--model", CliRun.TINY.toString(), "--format", "json", "--vector", vector.toString(),
                "--layer", Integer.toString(layer), "--target-ratio", Double.toString(target), "--prompts", prompts.toString());
        assertEquals(0, r.code(), r.err());
        return r.json();
    }

    static void assertRelative(double want, double got, double rel, String what) {
        assertEquals(want, got, rel * Math.abs(want), what);
    }

    @Test
    void parsingPositionsAndRatio() {
        assertEquals(new SteerArg(3, SteerArg.Mode.COEF, -2.5, Path.of("v.json"), Positions.PROMPT), SteerArg.parse("3:-2.5:v.json:prompt"));
        assertEquals(new SteerArg(3, SteerArg.Mode.RATIO, 0.6, Path.of("v.json"), null), SteerArg.parse("3:ratio=0.6:v.json"));
        assertEquals(new SteerArg(3, SteerArg.Mode.RATIO, -0.4, Path.of("v.json"), Positions.RESPONSE), SteerArg.parse("3:ratio=-0.4:v.json:response"));
        assertEquals(new SteerArg(0, SteerArg.Mode.COEF, 1, Path.of("a:b.json"), Positions.ALL), SteerArg.parse("0:1:a:b.json:all"));
        // Only an exact positions word is a suffix: anything else is part of the path.
        assertEquals(new SteerArg(0, 1, Path.of("a:b.json")), SteerArg.parse("0:1:a:b.json"));
        assertEquals(new SteerArg(0, 1, Path.of("v.json:middle")), SteerArg.parse("0:1:v.json:middle"));
        assertEquals(new SteerArg(0, 1, Path.of("v.json:ALL")), SteerArg.parse("0:1:v.json:ALL"));
        assertEquals(new SteerArg(0, 1, Path.of("all")), SteerArg.parse("0:1:all"), "a file named all");
        assertNull(SteerArg.parse("0:1:v.json").positions(), "no suffix: the command's --positions");
    }

    @Test
    void perSpecPositionsAreTheGlobalPositionsWhenTheSame() {
        for (String p : new String[] {"all", "prompt", "response"}) {
            JsonObject perSpec = generate("--prompt", PROMPT, "--prompt", OTHER, "--steer", "1:6:" + vector + ":" + p);
            JsonObject global = generate("--prompt", PROMPT, "--prompt", OTHER, "--positions", p, "--steer", "1:6:" + vector);
            assertEquals(global, perSpec, p + ": tokens and telemetry");
            assertEquals(p, entry(perSpec, 0, 0).get("positions").getAsString());
        }
        // A suffix overrides --positions.
        assertEquals(generate("--prompt", PROMPT, "--positions", "prompt", "--steer", "1:6:" + vector),
                generate("--prompt", PROMPT, "--positions", "response", "--steer", "1:6:" + vector + ":prompt"));
    }

    @Test
    void twoSpecsAtDifferentLayersWithDifferentPositions() throws Exception {
        JsonObject out = generate("--prompt", PROMPT, "--prompt", OTHER,
                "--steer", "2:-4:" + vector + ":response", "--steer", "1:6:" + vector + ":prompt");
        SteeringVector v = VectorFile.read(vector, null);
        List<SteeringSpec> specs = List.of(new SteeringSpec(2, v, -4, Positions.RESPONSE), new SteeringSpec(1, v, 6, Positions.PROMPT));
        try (Backend b = BackendProvider.open("cpu", null); LoadedModel m = LoadedModel.open(CliRun.TINY, b)) {
            List<GenerationRequest> reqs = List.of(new GenerationRequest(m.encodePrompt(PROMPT, false, "p"), specs),
                    new GenerationRequest(m.encodePrompt(OTHER, false, "p"), specs));
            List<GenerationResult> want = new Generator(m.lm()).generate(reqs, new GenerationOptions(6, 0, 1, 0, false, null, false));
            for (int row = 0; row < 2; row++) {
                JsonArray tokens = out.getAsJsonArray("results").get(row).getAsJsonObject().getAsJsonArray("tokens");
                assertArrayEquals(want.get(row).tokens(), new com.google.gson.Gson().fromJson(tokens, int[].class), "row " + row);
                JsonObject l1 = entry(out, row, 0), l2 = entry(out, row, 1);
                assertEquals(1, l1.get("layer").getAsInt());
                assertEquals("prompt", l1.get("positions").getAsString());
                assertEquals(6.0, num(l1, "coef"));
                assertEquals(num(l1, "prompt_norm_mean"), num(l1, "steered_norm_mean"), 0, "layer 1 steers the prompt");
                assertEquals(2, l2.get("layer").getAsInt());
                assertEquals("response", l2.get("positions").getAsString());
                assertEquals(-4.0, num(l2, "coef"));
                assertEquals(num(l2, "response_norm_mean"), num(l2, "steered_norm_mean"), 0, "layer 2 steers the response");
            }
        }
    }

    @Test
    void ratioModeGivesTheCoefOfSteerRatioOnTheSamePrompt() throws Exception {
        double r = 0.6;
        JsonObject out = generate("--prompt", PROMPT, "--steer", "1:ratio=" + r + ":" + vector);
        JsonObject t = entry(out, 0, 0);
        double coef = ratioCommand(PROMPT, 1, r).get("coef").getAsDouble();
        assertRelative(coef, num(t, "coef"), 1e-9, "the resolved coef is steer ratio's");
        assertRelative(r, num(t, "ratio"), 1e-6, "the telemetry's ratio is the one asked for");
        assertEquals(r, num(t, "target_ratio"), 0);
        // Then it steers as that coefficient given directly.
        JsonObject fixed = generate("--prompt", PROMPT, "--steer", "1:" + num(t, "coef") + ":" + vector);
        assertEquals(fixed.getAsJsonArray("results").get(0).getAsJsonObject().get("tokens"),
                out.getAsJsonArray("results").get(0).getAsJsonObject().get("tokens"));
        assertTrue(entry(fixed, 0, 0).get("target_ratio") == null, "a coefficient spec has no target ratio");
    }

    @Test
    void ratioModeResolvesPerPrompt() throws Exception {
        JsonObject out = generate("--prompt", PROMPT, "--prompt", OTHER, "--steer", "1:ratio=0.5:" + vector);
        double a = num(entry(out, 0, 0), "coef"), b = num(entry(out, 1, 0), "coef");
        assertRelative(ratioCommand(PROMPT, 1, 0.5).get("coef").getAsDouble(), a, 1e-9, "row 0");
        assertRelative(ratioCommand(OTHER, 1, 0.5).get("coef").getAsDouble(), b, 1e-9, "row 1");
        assertNotEquals(a, b, "each row its own coef");
    }

    @Test
    void aNegativeRatioGivesANegativeCoef() throws Exception {
        JsonObject pos = generate("--prompt", PROMPT, "--steer", "1:ratio=0.6:" + vector);
        JsonObject neg = generate("--prompt", PROMPT, "--steer", "1:ratio=-0.6:" + vector);
        double c = num(entry(neg, 0, 0), "coef");
        assertTrue(c < 0, "coef " + c);
        assertEquals(-num(entry(pos, 0, 0), "coef"), c, 0);
        assertRelative(0.6, num(entry(neg, 0, 0), "ratio"), 1e-6, "the ratio is |coef| x ||v|| / ||h||");
        assertEquals(-0.6, num(entry(neg, 0, 0), "target_ratio"), 0);
    }

    @Test
    void ratioAtTwoLayersMeasuresTheSecondAfterTheFirstAdd() throws Exception {
        JsonObject out = generate("--prompt", PROMPT, "--steer", "2:ratio=0.5:" + vector, "--steer", "1:ratio=0.8:" + vector);
        JsonObject l1 = entry(out, 0, 0), l2 = entry(out, 0, 1);
        assertEquals(1, l1.get("layer").getAsInt());
        assertEquals(2, l2.get("layer").getAsInt());
        double vNorm = num(l2, "vector_norm");
        // Layer 2's coef comes from the norm the steered prefill has there (after layer 1's add) ...
        assertRelative(0.5 * num(l2, "activation_norm") / vNorm, num(l2, "coef"), 1e-6, "layer 2 coef from the steered norm");
        assertRelative(0.5, num(l2, "ratio"), 1e-6, "layer 2 reaches its ratio");
        assertRelative(0.8, num(l1, "ratio"), 1e-6, "layer 1 reaches its ratio");
        // ... which is not the unsteered norm steer ratio measures.
        double unsteered = ratioCommand(PROMPT, 2, 0.5).get("coef").getAsDouble();
        assertTrue(Math.abs(unsteered - num(l2, "coef")) > 1e-3 * Math.abs(unsteered), unsteered + " vs " + num(l2, "coef"));
        assertRelative(ratioCommand(PROMPT, 1, 0.8).get("coef").getAsDouble(), num(l1, "coef"), 1e-9, "layer 1 as steer ratio");
        // And it is what the engine's RatioSteering resolves.
        SteeringVector v = VectorFile.read(vector, null);
        try (Backend b = BackendProvider.open("cpu", null); LoadedModel m = LoadedModel.open(CliRun.TINY, b)) {
            List<SteeringSpec> specs = RatioSteering.resolve(m.lm(), m.encodePrompt(PROMPT, false, "p"), List.of(),
                    List.of(new RatioSpec(2, v, 0.5, Positions.ALL), new RatioSpec(1, v, 0.8, Positions.ALL)));
            assertEquals(specs.get(0).coef(), num(l2, "coef"), 0);
            assertEquals(specs.get(1).coef(), num(l1, "coef"), 0);
        }
    }

    @Test
    void telemetryLayersAddEntriesForEveryRow() throws Exception {
        JsonObject plain = generate("--prompt", PROMPT, "--prompt", OTHER, "--telemetry-layers", "0,2");
        CliRun norms = CliRun.of("norms", "--model", CliRun.TINY.toString(), "--format", "json", "--prompt", PROMPT, "--prompt", OTHER);
        assertEquals(0, norms.code(), norms.err());
        for (int row = 0; row < 2; row++) {
            JsonArray t = telemetry(plain, row);
            assertEquals(2, t.size(), "row " + row + ": " + t);
            JsonArray want = norms.json().getAsJsonArray("prompts").get(row).getAsJsonObject().getAsJsonArray("activation_norm");
            for (int k = 0; k < 2; k++) {
                JsonObject e = t.get(k).getAsJsonObject();
                int layer = k == 0 ? 0 : 2;
                assertEquals(layer, e.get("layer").getAsInt());
                assertEquals("blocks." + layer + ".hook_resid_post", e.get("hook").getAsString());
                assertEquals(0.0, num(e, "coef"));
                assertTrue(!e.has("positions") || e.get("positions").isJsonNull(), "unsteered: no positions");
                assertEquals(5, e.get("response_tokens").getAsInt());
                assertRelative(want.get(layer).getAsDouble(), num(e, "activation_norm"), 1e-4, "row " + row + " layer " + layer);
            }
        }
        // A steered layer keeps its one entry per spec; the measured ones come in layer order.
        JsonObject steered = generate("--prompt", PROMPT, "--prompt", OTHER, "--telemetry-layers", "all", "--steer", "1:6:" + vector);
        for (int row = 0; row < 2; row++) {
            JsonArray t = telemetry(steered, row);
            assertEquals(4, t.size());
            for (int l = 0; l < 4; l++) assertEquals(l, t.get(l).getAsJsonObject().get("layer").getAsInt());
            assertEquals(6.0, num(t.get(1).getAsJsonObject(), "coef"));
            assertEquals(0.0, num(t.get(3).getAsJsonObject(), "coef"));
        }
        assertTrue(telemetry(generate("--prompt", PROMPT), 0).isEmpty(), "default: none");
    }

    @Test
    void textOutputShowsTheResolvedCoefAndTheMeasuredLayers() {
        CliRun r = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--max-new-tokens", "3", "--prompt", PROMPT,
                "--steer", "1:ratio=0.6:" + vector, "--steer", "2:-4:" + vector + ":response", "--telemetry-layers", "0");
        assertEquals(0, r.code(), r.err());
        JsonObject json = generate("--prompt", PROMPT, "--steer", "1:ratio=0.6:" + vector);
        String coef = String.format("coef %.4g (from ratio=0.6)", num(entry(json, 0, 0), "coef"));
        assertTrue(r.out().contains("blocks.1.hook_resid_post all " + coef), r.out());
        assertTrue(r.out().contains("blocks.2.hook_resid_post response coef -4.000 "), r.out());
        assertTrue(r.out().contains("blocks.0.hook_resid_post (measured, not steered)"), r.out());
    }

    @Test
    void badInputsAreOneLine() throws Exception {
        Path zeros = Files.writeString(tmp.resolve("zeros.json"), Arrays.toString(new float[64]));
        OptionsTest.assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:ratio=abc:" + vector),
                "steer: --steer '1:ratio=abc:" + vector + "': ratio 'abc' is not a number (expected ratio=R, e.g. 12:ratio=0.6:v.safetensors)");
        OptionsTest.assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:ratio=NaN:" + vector),
                "steer: --steer '1:ratio=NaN:" + vector + "': ratio 'NaN' is not a finite number");
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "1:ratio=Infinity:" + vector), "--steer", "Infinity", "finite");
        OptionsTest.assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:ratio=0.5:" + zeros),
                "steer: --steer " + zeros + ": the vector is all zeros, so no coefficient reaches ratio 0.5");
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "1:ratio=0.5:" + zeros + ":prompt"), "--steer", "zeros.json", "all zeros");
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "4:ratio=0.5:" + vector), "layer 4", "0-3");
        OptionsTest.assertLine(BadInputTest.generate(CliRun.TINY, "--telemetry-layers", "4"),
                "steer: --telemetry-layers '4': layer 4 is out of range; the model has layers 0-3");
        assertBad(BadInputTest.generate(CliRun.TINY, "--telemetry-layers", "1,x"), "--telemetry-layers", "'x'");
        assertBad(BadInputTest.generate(CliRun.TINY, "--telemetry-layers", ""), "--telemetry-layers", "empty");
        // An unknown positions word is part of the path: that file does not exist.
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "1:2:" + vector + ":middle"), "v.json:middle");
        OptionsTest.assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:2::prompt"),
                "steer: --steer '1:2::prompt': no vector file before ':prompt'; expected LAYER:COEF:VECTOR_FILE:prompt, e.g. 12:8.5:vectors/optimism.safetensors:prompt");
    }
}
