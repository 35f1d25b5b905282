package dev.steer.models.extract;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.extract.ActivationCapture;
import dev.steer.engine.extract.Pooling;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.generation.PromptNorms;
import dev.steer.engine.telemetry.ActivationNorm;
import dev.steer.models.Fixtures;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ‖h‖ the ratio law uses, measured live, against the fixture and against generation telemetry. */
class LiveNormReferenceTest {
    static JsonObject ref;
    static Backend backend;
    static LoadedModel model;
    static List<int[]> prompts = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        ref = JsonParser.parseString(Files.readString(Fixtures.tinyGemma2().resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        backend = DjlBackend.cpu();
        model = LoadedModel.open(Fixtures.tinyGemma2(), backend);
        for (var p : ref.getAsJsonArray("prompts")) prompts.add(VectorExtractionReferenceTest.ints(p.getAsJsonObject().getAsJsonArray("ids")));
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    @Test
    void matchesTheFixtureResidualOfTheDetailPromptWithoutBos() {
        JsonObject detail = ref.getAsJsonObject("detail");
        int[] ids = prompts.get(detail.get("prompt_index").getAsInt());
        for (int l = 0; l < 4; l++) {
            JsonArray resid = detail.getAsJsonArray("resid").get(l).getAsJsonArray();
            double sum = 0;
            for (int pos = 1; pos < resid.size(); pos++) {
                double sq = 0;
                for (var x : resid.get(pos).getAsJsonArray()) sq += x.getAsDouble() * x.getAsDouble();
                sum += Math.sqrt(sq);
            }
            ActivationNorm n = PromptNorms.activationNorm(model.lm(), List.of(ids), l, PromptNorms.DEFAULT_BATCH);
            assertEquals(ids.length - 1, n.tokens());
            assertEquals(sum / (resid.size() - 1), n.mean(), 1e-4 * n.mean(), "layer " + l);
        }
    }

    @Test
    void equalsGenerationTelemetryAndTheExtractionNormAndIgnoresBatching() {
        int layer = 1;
        ActivationNorm one = PromptNorms.activationNorm(model.lm(), prompts, layer, 1);
        ActivationNorm batched = PromptNorms.activationNorm(model.lm(), prompts, layer, 3);
        assertEquals(one.tokens(), batched.tokens());
        assertEquals(one.mean(), batched.mean(), 1e-5 * one.mean(), "left padding changes nothing");
        // A generation that measures the layer reports, per row, the mean over its prompt tokens (BOS excluded).
        List<GenerationRequest> reqs = prompts.stream().map(GenerationRequest::plain).toList();
        List<GenerationResult> rs = new Generator(model.lm()).generate(reqs, GenerationOptions.greedy(1).measuring(layer));
        double sum = 0;
        long tokens = 0;
        for (GenerationResult r : rs) {
            HookTelemetry t = r.telemetry().get(0);
            sum += t.promptNormMean() * t.promptCount();
            tokens += t.promptCount();
        }
        assertEquals(tokens, one.tokens());
        assertEquals(sum / tokens, one.mean(), 1e-5 * one.mean());
        // The activation_norm written by extract is the same quantity.
        ActivationCapture cap = ActivationCapture.capture(model.lm(), prompts, new int[] {layer}, Pooling.MEAN, 2);
        assertEquals(one.mean(), cap.activationNorm(layer), 1e-5 * one.mean());
    }

    @Test
    void coefAndRatioRoundTrip() {
        ActivationNorm h = PromptNorms.activationNorm(model.lm(), prompts, 2, PromptNorms.DEFAULT_BATCH);
        double vNorm = 3.7;
        for (double target : new double[] {0.1, 0.5, 1.0, 1.3}) {
            double coef = PerturbationRatio.coefFor(target, vNorm, h.mean());
            assertEquals(target, PerturbationRatio.ratio(coef, vNorm, h.mean()), 1e-12);
            assertEquals(target * h.mean() / vNorm, coef, 1e-12);
        }
    }

    @Test
    void layerOutOfRangeIsNamed() {
        BadInputException e = assertThrows(BadInputException.class, () -> PromptNorms.activationNorm(model.lm(), prompts, 4, PromptNorms.DEFAULT_BATCH));
        assertTrue(e.getMessage().startsWith("--layer") && e.getMessage().contains("layer 4") && e.getMessage().contains("0-3"), e.getMessage());
        assertTrue(!e.getMessage().startsWith("--layers"), e.getMessage());
    }
}
