package dev.steer.models.gemma2;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.models.hf.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --backend cpu --precision bf16} against what transformers computes in float32 for the tiny fixture, whose
 * weights are stored as bf16 (so bf16 storage loses nothing: the only differences are the bf16 rounding of each
 * matmul's activation input and of its output, relative error at most 2^-9 each).
 *
 * <p>Tolerance: 2^-9 relative per rounding, two roundings per matmul, 4 layers x 7 matmuls + the lm_head on the way
 * to a logit; rounding errors are independent across the ~100-300 summed products, so they grow as the square root
 * of the number of roundings (~8), not linearly: a logit's error is expected below 2^-9 x 2 x 8 x (its scale, the
 * prompt's largest |logit|) ≈ 0.03 x scale. The test takes 0.03 x scale; float32 matches within 1e-3 absolute
 * ({@link Gemma2ReferenceTest}), and a wrong weight, row or rounding mode shows as errors of order scale.
 */
class Gemma2CpuBf16Test {
    static JsonObject ref;
    static Backend bf16;
    static Backend f32;
    static Gemma2 model16;
    static Gemma2 model32;

    @BeforeAll
    static void load() throws Exception {
        ref = JsonParser.parseString(Files.readString(Gemma2ReferenceTest.DIR.resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        bf16 = DjlBackend.cpu(true, 0);
        f32 = DjlBackend.cpu();
        try (var ckpt = Checkpoint.open(Gemma2ReferenceTest.DIR)) {
            Gemma2Config cfg = Gemma2Config.read(Gemma2ReferenceTest.DIR);
            model16 = new Gemma2(cfg, ckpt::tensor, bf16);
            model32 = new Gemma2(cfg, ckpt::tensor, f32);
        }
    }

    @AfterAll
    static void close() {
        bf16.close();
        f32.close();
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    @Test
    void weightsAreKeptAsBf16() {
        assertEquals("bf16", bf16.stats().get("weight_dtype"));
        // every matrix at 2 bytes a parameter, the norm vectors at 4: half of float32's bytes but the norms'
        long w16 = (Long) bf16.stats().get("weight_bytes"), w32 = (Long) f32.stats().get("weight_bytes");
        long norms = 4L * 64 * (4 * 4 + 1);
        assertEquals(w32 - norms, 2 * (w16 - norms));
    }

    @Test
    void lastLogitsOfEveryPromptMatchWithinBf16Rounding() {
        Generator g = new Generator(model16);
        double worstRelative = 0;
        for (int p = 0; p < 4; p++) {
            int[] ids = Gemma2ReferenceTest.ints(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids"));
            float[] expected = Gemma2ReferenceTest.floats(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("last_logits"));
            float[] got = g.generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(1).withPromptLogits()).get(0).promptLogits();
            double scale = maxAbs(expected);
            Gemma2ReferenceTest.assertClose(expected, got, 0.03 * scale, "bf16 prompt " + p + " (scale " + scale + ")");
            double worst = 0;
            for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - got[i]));
            worstRelative = Math.max(worstRelative, worst / scale);
        }
        // bf16 rounding, not exactness: a path that secretly multiplied in float32 would match to ~1e-6
        assertTrue(worstRelative > 1e-5, "bf16 logits equal float32's to " + worstRelative + ": activations are not rounded");
    }

    /** Top-1 minus top-2 of a row of logits. */
    static double margin(float[] logits) {
        double a = Double.NEGATIVE_INFINITY, b = Double.NEGATIVE_INFINITY;
        for (float x : logits) {
            if (x > a) { b = a; a = x; } else if (x > b) b = x;
        }
        return a - b;
    }

    /**
     * The fixture's greedy continuations (12 tokens a prompt) in bf16, step by step for as long as float32's margin
     * at the step (top-1 minus top-2, from the teacher-forced float32 logits, which match the reference within
     * 1e-3) exceeds twice the bf16 logit tolerance: there bf16 rounding cannot flip the choice, so a token that
     * differs is a bug. After the first closer step a flip is allowed and the sequences may part.
     */
    @Test
    void greedyTokensEqualTheReferenceWhereTheMarginsAllow() {
        JsonArray greedy = ref.getAsJsonArray("greedy");
        int compared = 0;
        for (int p = 0; p < greedy.size(); p++) {
            int[] ids = Gemma2ReferenceTest.ints(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids"));
            int[] expected = Gemma2ReferenceTest.ints(greedy.get(p).getAsJsonObject().getAsJsonArray("plain"));
            int[] got = new Generator(model16).generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(expected.length)).get(0).tokens();
            for (int s = 0; s < expected.length; s++) {
                int[] prefix = java.util.Arrays.copyOf(ids, ids.length + s);
                System.arraycopy(expected, 0, prefix, ids.length, s);
                float[] logits32 = new Generator(model32).generate(List.of(GenerationRequest.plain(prefix)), GenerationOptions.greedy(1).withPromptLogits()).get(0).promptLogits();
                if (margin(logits32) <= 2 * 0.03 * maxAbs(logits32)) break;
                assertEquals(expected[s], got[s], "bf16 greedy token " + s + " of prompt " + p + " (float32 margin " + margin(logits32) + ")");
                compared++;
            }
        }
        assertTrue(compared >= 4, "the margins allowed only " + compared + " steps to be compared");
    }
}
