package dev.steer.models.extract;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.extract.ActivationCapture;
import dev.steer.engine.extract.ExtractedVector;
import dev.steer.engine.extract.Method;
import dev.steer.engine.extract.Pooling;
import dev.steer.engine.extract.VectorExtraction;
import dev.steer.models.Fixtures;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Extraction on the tiny Gemma-2 against the fixture's mean_diff vectors (computed by transformers in float64). */
class VectorExtractionReferenceTest {
    static final int[] ALL = {0, 1, 2, 3};
    static JsonObject meanDiff;
    static Backend backend;
    static LoadedModel model;
    static List<int[]> positives, negatives;

    @BeforeAll
    static void load() throws Exception {
        JsonObject ref = JsonParser.parseString(Files.readString(Fixtures.tinyGemma2().resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        meanDiff = ref.getAsJsonObject("mean_diff");
        backend = DjlBackend.cpu();
        model = LoadedModel.open(Fixtures.tinyGemma2(), backend);
        positives = encode(meanDiff.getAsJsonArray("positive"));
        negatives = encode(meanDiff.getAsJsonArray("negative"));
        // The tokenizer gives the fixture's ids (BOS first) for the fixture's own prompts.
        JsonObject p0 = ref.getAsJsonArray("prompts").get(0).getAsJsonObject();
        int[] ids = model.tokenizer().encode(p0.get("text").getAsString());
        assertArrayEquals(ints(p0.getAsJsonArray("ids")), ids);
        for (int[] p : positives) assertEquals(2, p[0], "BOS first");
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    static List<int[]> encode(JsonArray texts) {
        List<int[]> out = new ArrayList<>();
        for (var t : texts) out.add(model.tokenizer().encode(t.getAsString()));
        return out;
    }

    static int[] ints(JsonArray a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsInt();
        return v;
    }

    static void assertVectorClose(JsonArray expected, float[] actual, double tol, String what) {
        assertEquals(expected.size(), actual.length, what + " length");
        double worst = 0;
        for (int i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(expected.get(i).getAsDouble() - actual[i]));
        assertTrue(worst <= tol, what + ": max |diff| " + worst);
    }

    @Test
    void meanDiffMatchesTheFixtureAtEveryLayerForBothPositions() {
        // Batch 3 splits the 8 prompts into 3 left-padded passes of mixed lengths; batch 16 takes them in one.
        for (int batch : new int[] {3, 16}) {
            for (Pooling pos : Pooling.values()) {
                List<ExtractedVector> vs = VectorExtraction.extract(model.lm(), positives, negatives, ALL, pos, List.of(Method.MEAN_DIFF), batch);
                assertEquals(4, vs.size());
                JsonArray ref = meanDiff.getAsJsonArray(pos == Pooling.LAST ? "last_token" : "prompt_mean");
                for (int l = 0; l < 4; l++) {
                    ExtractedVector v = vs.get(l);
                    assertEquals(l, v.layer());
                    assertVectorClose(ref.get(l).getAsJsonArray(), v.vector(), 1e-3, pos.label() + " layer " + l + " batch " + batch);
                    double n = 0;
                    for (var x : ref.get(l).getAsJsonArray()) n += x.getAsDouble() * x.getAsDouble();
                    assertEquals(Math.sqrt(n), v.vectorNorm(), 1e-3, "‖v‖ layer " + l);
                    assertEquals(v.vectorNorm() / v.activationNorm(), v.ratio(), 1e-12);
                    assertEquals(4, v.positives());
                    assertEquals(4, v.negatives());
                }
            }
        }
    }

    @Test
    void probeSeparatesTheSetsAndAgreesInSignWithMeanDiff() {
        for (Pooling pos : Pooling.values()) {
            List<ExtractedVector> vs = VectorExtraction.extract(model.lm(), positives, negatives, ALL, pos, List.of(Method.MEAN_DIFF, Method.PROBE), 16);
            assertEquals(8, vs.size());
            for (int l = 0; l < 4; l++) {
                ExtractedVector md = vs.get(2 * l), probe = vs.get(2 * l + 1);
                assertEquals(Method.MEAN_DIFF, md.method());
                assertEquals(Method.PROBE, probe.method());
                String at = pos.label() + " layer " + l;
                assertEquals(1.0, probe.trainAccuracy(), at + ": the probe separates its training sets");
                assertEquals(1.0, probe.vectorNorm(), 1e-6, at + ": unit probe");
                assertTrue(cos(probe.vector(), md.vector()) > 0, at + ": cos(probe, mean_diff) " + cos(probe.vector(), md.vector()));
                assertTrue(probe.cohensD() > 0, at + ": positives project higher, d " + probe.cohensD());
                assertTrue(md.cohensD() > 0, at + ": mean_diff d " + md.cohensD());
                // 4 + 4 prompts: 4 folds, each holding out one pair; the accuracy is a multiple of 1/8.
                double acc = probe.heldoutAccuracy() * 8;
                assertEquals(Math.rint(acc), acc, 1e-9, at + ": held-out accuracy " + probe.heldoutAccuracy());
                assertEquals(probe.activationNorm(), md.activationNorm(), 0.0, "one capture for both methods");
            }
        }
    }

    @Test
    void activationNormIsTheMeanOverPromptTokensWithoutBos() {
        List<int[]> all = new ArrayList<>(positives);
        all.addAll(negatives);
        ActivationCapture cap = ActivationCapture.capture(model.lm(), all, ALL, Pooling.LAST, 5);
        long tokens = 0;
        for (int[] p : all) tokens += p.length - 1;
        assertEquals(tokens, cap.normTokens());
        // Reference from the BOS-included per-prompt means of `steer norms`: remove BOS, whose residual is the same
        // in every prompt (position 0, no context), measured alone.
        var norms = dev.steer.engine.generation.PromptNorms.everyLayer(model.lm(), all);
        double[] bos = dev.steer.engine.generation.PromptNorms.everyLayer(model.lm(), List.of(new int[] {2})).meanPerLayer(0);
        for (int l = 0; l < 4; l++) {
            double sum = 0;
            for (int i = 0; i < all.size(); i++) sum += norms.meanPerLayer(i)[l] * all.get(i).length - bos[l];
            assertEquals(sum / tokens, cap.activationNorm(l), 1e-4 * cap.activationNorm(l), "layer " + l);
        }
    }

    @Test
    void badInputsAreNamed() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> VectorExtraction.extract(model.lm(), positives, List.of(), ALL, Pooling.LAST, List.of(Method.MEAN_DIFF), 16));
        assertTrue(e.getMessage().contains("0 negative"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> VectorExtraction.extract(model.lm(), positives, negatives, new int[] {1, 4}, Pooling.LAST, List.of(Method.MEAN_DIFF), 16));
        assertTrue(e.getMessage().startsWith("--layers") && e.getMessage().contains("layer 4") && e.getMessage().contains("0-3"), e.getMessage());
    }

    static double cos(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
