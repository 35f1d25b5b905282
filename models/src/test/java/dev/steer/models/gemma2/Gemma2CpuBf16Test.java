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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --backend cpu --precision bf16} on the tiny fixture, whose weights are stored as bf16 (so keeping them bf16
 * loses nothing), on every path that runs it: steer's CPU kernels on each instruction-set variant this CPU has
 * (scalar, AVX2, AVX-512 widening, AVX512_BF16 dot products), and PyTorch's bf16 GEMM where the kernels are off.
 *
 * <p>What bf16 changes is rounding, to nearest even, with relative error at most 2^-9 each time. The kernels round
 * every product's activation input (as the CUDA bf16 path does); the products of two bf16 values are exact in
 * float32 and accumulate in float32, so the output is float32. PyTorch's bf16 GEMM also returns bf16, so that path
 * rounds the output too. About 15-30 such roundings lie on the way to a logit, and this random 4-layer model
 * amplifies them (its logits move by up to ~9% of their scale), so the tolerance against the fixture is what
 * those roundings do, measured here: the same forward in float32 arithmetic with the same roundings inserted
 * ({@link #emulated}) must match the path closely (only the accumulation order differs), and the fixture within
 * 1.25 x the emulation's own distance to it.
 */
class Gemma2CpuBf16Test {
    /** A bf16 path: the {@code steer.cpu.kernels} setting that selects it, and whether its products round their output. */
    record Path(String kernels, boolean roundsOutput) {
        @Override
        public String toString() {
            return kernels.equals("off") ? "PyTorch bf16 GEMM" : "kernels " + kernels;
        }
    }

    /** The kernels on each variant this CPU runs, then PyTorch's GEMM. */
    static List<Path> paths() {
        List<Path> p = new ArrayList<>();
        try (DjlBackend probe = DjlBackend.cpu()) {
            Object used = probe.stats().get("cpu_kernels");
            List<String> isas = List.of("scalar", "avx2", "avx512", "avx512_bf16");
            int best = isas.indexOf(String.valueOf(used));
            for (int i = 0; i <= best; i++) p.add(new Path(isas.get(i), false));
            if (best < 0) System.out.println("steer's CPU kernels not used here: " + used);
        }
        p.add(new Path("off", true));
        return p;
    }

    static JsonObject ref;
    static Backend f32;
    static Gemma2 model32;
    static Gemma2Config cfg;
    /** Per path: the bf16 model, and the float32 model with the path's roundings emulated. */
    static final Map<Path, Gemma2[]> models = new HashMap<>();
    static final List<Backend> backends = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        ref = JsonParser.parseString(Files.readString(Gemma2ReferenceTest.DIR.resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        cfg = Gemma2Config.read(Gemma2ReferenceTest.DIR);
        f32 = DjlBackend.cpu();
        try (var ckpt = Checkpoint.open(Gemma2ReferenceTest.DIR)) {
            model32 = new Gemma2(cfg, ckpt::tensor, f32);
        }
    }

    static Gemma2[] models(Path path) throws Exception {
        Gemma2[] m = models.get(path);
        if (m != null) return m;
        String before = System.getProperty("steer.cpu.kernels");
        System.setProperty("steer.cpu.kernels", path.kernels());
        try (var ckpt = Checkpoint.open(Gemma2ReferenceTest.DIR)) {
            Backend bf16 = DjlBackend.cpu(true, 0);
            Backend emulation = emulated(DjlBackend.cpu(), path.roundsOutput());
            backends.add(bf16);
            backends.add(emulation);
            m = new Gemma2[] {new Gemma2(cfg, ckpt::tensor, bf16), new Gemma2(cfg, ckpt::tensor, emulation)};
        } finally {
            if (before == null) System.clearProperty("steer.cpu.kernels");
            else System.setProperty("steer.cpu.kernels", before);
        }
        models.put(path, m);
        return m;
    }

    @AfterAll
    static void close() {
        backends.forEach(Backend::close);
        f32.close();
    }

    /** A float32 backend whose linear layers round their input (and, if asked, their output) to bf16, through the host. */
    static Backend emulated(Backend base, boolean roundOutput) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("linear")) return roundedLinear(base, (Tensor) args[0], (Tensor) args[1], roundOutput);
            // the backend's own fused form would call its unrounded linear
            if (m.getName().equals("linearGeluTanhMulPacked"))
                return base.geluTanhMulPacked(roundedLinear(base, (Tensor) args[0], (Tensor) args[1], roundOutput));
            try {
                return m.invoke(base, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    static Tensor roundedLinear(Backend base, Tensor x, Tensor w, boolean roundOutput) {
        Tensor y = base.linear(base.floats(Bf16.round(base.toHost(x)), x.shape()), w);
        return roundOutput ? base.floats(Bf16.round(base.toHost(y)), y.shape()) : y;
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

    @ParameterizedTest
    @MethodSource("paths")
    void weightsAreKeptAsBf16(Path path) throws Exception {
        Backend bf16 = models(path)[0].backend();
        assertEquals("bf16", bf16.stats().get("weight_dtype"));
        assertEquals(path.kernels(), String.valueOf(bf16.stats().get("cpu_kernels")).split(" ")[0], "the path asked for runs");
        // every matrix at 2 bytes a parameter, the 17 norm vectors (64 wide) at 4: half of float32's but the norms
        long w16 = (Long) bf16.stats().get("weight_bytes"), w32 = (Long) f32.stats().get("weight_bytes");
        long norms = 4L * 64 * (4 * 4 + 1);
        assertEquals(w32 - norms, 2 * (w16 - norms));
    }

    @ParameterizedTest
    @MethodSource("paths")
    void lastLogitsOfEveryPromptMatchWithinWhatBf16RoundingExplains(Path path) throws Exception {
        Gemma2 model16 = models(path)[0], modelEmulated = models(path)[1];
        double fromFloat32 = 0;
        for (int p = 0; p < 4; p++) {
            float[] expected = Gemma2ReferenceTest.floats(ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("last_logits"));
            float[] got = lastLogits(model16, promptIds(p));
            float[] emulated = lastLogits(modelEmulated, promptIds(p));
            double scale = maxAbs(expected);
            // the same roundings in float32 arithmetic: the bf16 GEMM's accumulation order is all that differs
            Gemma2ReferenceTest.assertClose(emulated, got, 1e-3 * scale, path + ": bf16 against its float32 emulation, prompt " + p);
            double explained = maxDiff(expected, emulated);
            Gemma2ReferenceTest.assertClose(expected, got, 1.25 * explained + 1e-3, path + ": bf16 against the fixture, prompt " + p
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
    static int sameTokensWhereMarginsAllow(Gemma2 model16, Gemma2 reference, int[] ids, int[] expected, String what) {
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
    @ParameterizedTest
    @MethodSource("paths")
    void greedyTokensEqualTheReferenceWhereTheMarginsAllow(Path path) throws Exception {
        Gemma2 model16 = models(path)[0], modelEmulated = models(path)[1];
        JsonArray greedy = ref.getAsJsonArray("greedy");
        int fixture = 0, emulated = 0;
        for (int p = 0; p < greedy.size(); p++) {
            int[] ids = promptIds(p);
            int[] expected = Gemma2ReferenceTest.ints(greedy.get(p).getAsJsonObject().getAsJsonArray("plain"));
            fixture += sameTokensWhereMarginsAllow(model16, model32, ids, expected, path + ", the fixture's prompt " + p);
            int[] rounded = new Generator(modelEmulated).generate(List.of(GenerationRequest.plain(ids)), GenerationOptions.greedy(expected.length)).get(0).tokens();
            emulated += sameTokensWhereMarginsAllow(model16, modelEmulated, ids, rounded, path + ", the emulated roundings' prompt " + p);
        }
        System.out.println(path + ", bf16 greedy: " + fixture + " of 48 fixture steps and " + emulated + " of 48 emulated steps within the margins");
        assertTrue(fixture >= 1, "the fixture's margins allowed no step to be compared");
        assertTrue(emulated >= 24, "the emulation's margins allowed only " + emulated + " steps to be compared");
    }
}
