package dev.steer.models.gemma2;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.tensor.Bf16;
import dev.steer.models.hf.Checkpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --backend cpu --precision bf16} on the tiny fixture, whose weights are stored as bf16 (so keeping them bf16
 * loses nothing). What bf16 changes is the rounding, to nearest even, of every matmul's activation input and (PyTorch's
 * CPU bf16 GEMM returns bf16) of its output: relative error at most 2^-9 each, about 30 of them on the way to a
 * logit. This random 4-layer model amplifies them (its logits move by up to ~9% of their scale), so the tolerance
 * against the fixture is what those roundings do, measured here: the same forward in float32 arithmetic with the
 * same roundings inserted ({@link #emulated}) must match the bf16 path closely (only the accumulation order differs),
 * and the fixture within 1.25 x the emulation's own distance to it.
 */
class Gemma2CpuBf16Test {
    static JsonObject ref;
    static Backend bf16;
    static Backend f32;
    static Backend emulation;
    static Gemma2 model16;
    static Gemma2 model32;
    static Gemma2 modelEmulated;

    @BeforeAll
    static void load() throws Exception {
        ref = JsonParser.parseString(Files.readString(Gemma2ReferenceTest.DIR.resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        bf16 = DjlBackend.cpu(true, 0);
        f32 = DjlBackend.cpu();
        emulation = emulated(DjlBackend.cpu());
        try (var ckpt = Checkpoint.open(Gemma2ReferenceTest.DIR)) {
            Gemma2Config cfg = Gemma2Config.read(Gemma2ReferenceTest.DIR);
            model16 = new Gemma2(cfg, ckpt::tensor, bf16);
            model32 = new Gemma2(cfg, ckpt::tensor, f32);
            modelEmulated = new Gemma2(cfg, ckpt::tensor, emulation);
        }
    }

    @AfterAll
    static void close() {
        bf16.close();
        f32.close();
        emulation.close();
    }

    /** A float32 backend whose linear layers round their input and their output to bf16 (through the host). */
    static Backend emulated(Backend base) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("linear")) return roundedLinear(base, (Tensor) args[0], (Tensor) args[1]);
            // the backend's own fused form would call its unrounded linear
            if (m.getName().equals("linearGeluTanhMulPacked")) return base.geluTanhMulPacked(roundedLinear(base, (Tensor) args[0], (Tensor) args[1]));
            try {
                return m.invoke(base, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    static Tensor roundedLinear(Backend base, Tensor x, Tensor w) {
        Tensor y = base.linear(base.floats(Bf16.round(base.toHost(x)), x.shape()), w);
        return base.floats(Bf16.round(base.toHost(y)), y.shape());
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static float[] lastLogits(Gemma2 model, int[] ids) {
        return new Generator(model).generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(1).withPromptLogits()).get(0).promptLogits();
    }

    static int[] promptIds(int p) {
        return Gemma2ReferenceTest.ints(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids"));
    }

    @Test
    void weightsAreKeptAsBf16() {
        assertEquals("bf16", bf16.stats().get("weight_dtype"));
        // every matrix at 2 bytes a parameter, the 17 norm vectors (64 wide) at 4: half of float32's but the norms
        long w16 = (Long) bf16.stats().get("weight_bytes"), w32 = (Long) f32.stats().get("weight_bytes");
        long norms = 4L * 64 * (4 * 4 + 1);
        assertEquals(w32 - norms, 2 * (w16 - norms));
    }

    @Test
    void lastLogitsOfEveryPromptMatchWithinWhatBf16RoundingExplains() {
        double fromFloat32 = 0;
        for (int p = 0; p < 4; p++) {
            float[] expected = Gemma2ReferenceTest.floats(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("last_logits"));
            float[] got = lastLogits(model16, promptIds(p));
            float[] emulated = lastLogits(modelEmulated, promptIds(p));
            double scale = maxAbs(expected);
            // the same roundings in float32 arithmetic: the bf16 GEMM's accumulation order is all that differs
            Gemma2ReferenceTest.assertClose(emulated, got, 1e-3 * scale, "bf16 against its float32 emulation, prompt " + p);
            double explained = maxDiff(expected, emulated);
            Gemma2ReferenceTest.assertClose(expected, got, 1.25 * explained + 1e-3, "bf16 against the fixture, prompt " + p
                    + " (the emulated roundings move the logits by " + explained + ", scale " + scale + ")");
            fromFloat32 = Math.max(fromFloat32, maxDiff(got, lastLogits(model32, promptIds(p))) / scale);
        }
        // rounded, not exact: a path that multiplied in float32 would match float32 to ~1e-6 of the scale
        assertTrue(fromFloat32 > 1e-3, "bf16 logits equal float32's to " + fromFloat32 + " of their scale: nothing is rounded");
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
     * Steps of {@code prompt}'s greedy continuation {@code expected} (computed by {@code reference}) at which bf16
     * must choose the same token: while the reference's margin at the step (top-1 minus top-2 of its teacher-forced
     * logits) exceeds twice the distance between its logits and bf16's there, rounding cannot flip the choice, so a
     * differing token is a bug; after the first closer step the sequences may part. Returns the steps compared.
     */
    static int sameTokensWhereMarginsAllow(Gemma2 reference, int[] ids, int[] expected, String what) {
        int[] got = new Generator(model16).generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(expected.length)).get(0).tokens();
        int compared = 0;
        for (int s = 0; s < expected.length; s++) {
            int[] prefix = java.util.Arrays.copyOf(ids, ids.length + s);
            System.arraycopy(expected, 0, prefix, ids.length, s);
            float[] logits = lastLogits(reference, prefix);
            if (margin(logits) <= 2 * maxDiff(logits, lastLogits(model16, prefix))) break;
            assertEquals(expected[s], got[s], "bf16 greedy token " + s + " of " + what + " (margin " + margin(logits) + ")");
            compared++;
        }
        return compared;
    }

    /**
     * The fixture's greedy continuations (12 tokens a prompt) where its margins allow: they are small (the recorded
     * minimum over a prompt's steps is 0.003 to 0.03, against logits bf16 moves by up to ~0.17), so few steps
     * qualify; the float32 path reproduces all of them exactly ({@link Gemma2ReferenceTest}). Then the same rule
     * against the emulated roundings' own greedy continuations, whose margins are not eaten by rounding.
     */
    @Test
    void greedyTokensEqualTheReferenceWhereTheMarginsAllow() {
        JsonArray greedy = ref.getAsJsonArray("greedy");
        int fixture = 0, emulated = 0;
        for (int p = 0; p < greedy.size(); p++) {
            int[] ids = promptIds(p);
            int[] expected = Gemma2ReferenceTest.ints(greedy.get(p).getAsJsonObject().getAsJsonArray("plain"));
            fixture += sameTokensWhereMarginsAllow(model32, ids, expected, "the fixture's prompt " + p);
            int[] rounded = new Generator(modelEmulated).generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(expected.length)).get(0).tokens();
            emulated += sameTokensWhereMarginsAllow(modelEmulated, ids, rounded, "the emulated roundings' prompt " + p);
        }
        System.out.println("bf16 greedy: " + fixture + " of 48 fixture steps and " + emulated + " of 48 emulated steps within the margins");
        assertTrue(fixture >= 1, "the fixture's margins allowed no step to be compared");
        assertTrue(emulated >= 24, "the emulation's margins allowed only " + emulated + " steps to be compared");
    }
}
