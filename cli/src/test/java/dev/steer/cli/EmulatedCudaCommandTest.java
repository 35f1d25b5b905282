package dev.steer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.model.ResidualHook;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.kernels.CudaBackend;
import dev.steer.kernels.KernelSettings;
import dev.steer.kernels.Precision;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import dev.steer.models.LoadedModel;
import java.util.ArrayList;
import java.util.List;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;

/**
 * The CUDA backend end to end through the CLI with its kernels run by the CPU emulator ({@code --backend
 * cuda-emu}): the transformers reference's greedy tokens and norms, as the GPU machine's tiny-fixture check.
 */
class EmulatedCudaCommandTest {
    /** The emulator needs g++ and a JDK's jni.h: without them these tests skip and say why (CI's machine has both). */
    @org.junit.jupiter.api.BeforeAll
    static void emulatorAvailable() {
        String reason = dev.steer.kernels.CudaBackend.emulatorUnavailableReason();
        if (reason != null) System.out.println("EmulatedCudaCommandTest skipped: " + reason);
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
    }

    @TempDir
    static Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        GenerateCommandTest.tmp = tmp;
        GenerateCommandTest.setUp();
    }

    @Test
    void greedyTokensPlainAndSteeredMatchTransformersInFloat32() {
        GenerateCommandTest.greedyGivesTheReferenceTokens("--backend", "cuda-emu", "--precision", "f32");
    }

    /** The fixture's four prompts, rows 0 and 2 steered by its vector at its greedy coef, rows 1 and 3 plain. */
    static List<GenerationRequest> mixedFixtureBatch(JsonObject ref) {
        JsonArray vec = ref.getAsJsonObject("steering").getAsJsonArray("vector");
        float[] v = new float[vec.size()];
        for (int i = 0; i < v.length; i++) v[i] = vec.get(i).getAsFloat();
        SteeringSpec spec = new SteeringSpec(ref.getAsJsonObject("steering").get("layer").getAsInt(), new SteeringVector(v, "fixture"),
                ref.get("greedy_steer_coef").getAsDouble(), Positions.ALL);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int p = 0; p < 4; p++) {
            JsonArray idsJson = ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids");
            int[] ids = new int[idsJson.size()];
            for (int i = 0; i < ids.length; i++) ids[i] = idsJson.get(i).getAsInt();
            requests.add(new GenerationRequest(ids, p % 2 == 0 ? List.of(spec) : List.of()));
        }
        return requests;
    }

    /** The fixture's greedy tokens for {@link #mixedFixtureBatch}: steered for rows 0 and 2, plain for 1 and 3. */
    static void assertMixedReferenceTokens(JsonObject ref, List<GenerationResult> out) {
        for (int p = 0; p < 4; p++) {
            JsonArray want = ref.getAsJsonArray("greedy").get(p).getAsJsonObject().getAsJsonArray(p % 2 == 0 ? "steered" : "plain");
            int[] got = out.get(p).tokens();
            assertEquals(want.size(), got.length, "prompt " + p);
            for (int i = 0; i < got.length; i++) assertEquals(want.get(i).getAsInt(), got[i], "prompt " + p + " token " + i);
        }
    }

    /**
     * Through the library, so the backend's counters can be read: a mixed batch (two rows steered, two plain)
     * decoded with CUDA-graph replay (captured launches replayed by the emulator) gives the reference tokens.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "decode attention kernel {0}, packed projections {1}")
    @org.junit.jupiter.params.provider.CsvSource({"false, true", "true, true", "false, false"})
    void graphReplayedDecodeGivesTheReferenceTokens(boolean decodeAttention, boolean packed) {
        JsonObject ref = GenerateCommandTest.ref;
        List<GenerationRequest> requests = mixedFixtureBatch(ref);
        CudaBackend be = CudaBackend.emulated(Precision.F32, KernelSettings.fromEnvironment().withDecodeAttention(decodeAttention).withGemv("0").withPacked(packed));
        try (LoadedModel m = LoadedModel.open(CliRun.TINY, be)) {
            GenerationOptions opts = new GenerationOptions(12, 0, 1, 0, false, null, false);
            List<GenerationResult> out = new Generator(m.lm()).generate(requests, opts);
            assertMixedReferenceTokens(ref, out);
            // 11 decode steps: the first eager, the second captured, the other 9 replayed
            assertEquals(9L, be.graphReplays());
            assertEquals(0L, be.graphMismatches());
        } finally {
            be.close();
        }
    }

    /**
     * bf16 decode with gemv.cu in place of the GEMM (STEER_GEMV=c2w4 and c4w2 at batch 4, c2w4 and c8w1 at batch 1):
     * the same greedy tokens as with cuBLAS's stand-in, steered rows included, and the graph still replays. The two
     * differ only in float32 summation order.
     */
    @Test
    void gemvDecodeGivesTheSameTokensAsTheGemm() {
        List<GenerationRequest> four = mixedBatch();
        for (List<GenerationRequest> requests : List.of(four, List.of(four.get(0)))) {
            String other = requests.size() == 1 ? "c8w1" : "c4w2";   // c8w1 serves at most 2 rows
            List<List<Integer>> cublas = tokens("0", requests), gemv = tokens("c2w4", requests), wide = tokens(other, requests);
            assertEquals(cublas, gemv, "c2w4, batch " + requests.size());
            assertEquals(cublas, wide, other + ", batch " + requests.size());
            assertEquals(requests.size() * 12, cublas.stream().mapToInt(List::size).sum());
        }
    }

    /** The fixture's four prompts, rows 0 and 2 steered by its vector at layer 1 with coef 8, rows 1 and 3 plain. */
    private static List<GenerationRequest> mixedBatch() {
        float[] v = new float[64];
        JsonArray vec = GenerateCommandTest.ref.getAsJsonObject("steering").getAsJsonArray("vector");
        for (int i = 0; i < v.length; i++) v[i] = vec.get(i).getAsFloat();
        SteeringSpec spec = new SteeringSpec(1, new SteeringVector(v, "fixture"), 8.0, Positions.ALL);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int p = 0; p < 4; p++) requests.add(new GenerationRequest(promptIds(p), p % 2 == 0 ? List.of(spec) : List.of()));
        return requests;
    }

    private static int[] promptIds(int p) {
        JsonArray idsJson = GenerateCommandTest.ref.getAsJsonArray("prompts").get(p).getAsJsonObject().getAsJsonArray("ids");
        int[] ids = new int[idsJson.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = idsJson.get(i).getAsInt();
        return ids;
    }

    private static List<List<Integer>> tokens(String gemv, List<GenerationRequest> requests) {
        CudaBackend be = CudaBackend.emulated(Precision.BF16, KernelSettings.fromEnvironment().withDecodeAttention(true).withGemv(gemv));
        try (LoadedModel m = LoadedModel.open(CliRun.TINY, be)) {
            List<GenerationResult> out = new Generator(m.lm()).generate(requests, new GenerationOptions(12, 0, 1, 0, false, null, false));
            assertEquals(0L, be.graphMismatches());
            assertEquals(9L, be.graphReplays());
            if (!gemv.equals("0")) assertTrue(be.stats().get("linear_choices").toString().contains("gemv_"), be.stats().toString());
            List<List<Integer>> all = new ArrayList<>();
            for (GenerationResult r : out) all.add(java.util.Arrays.stream(r.tokens()).boxed().toList());
            return all;
        } finally {
            be.close();
        }
    }

    /**
     * Look-ahead decoding (the default; STEER_LOOKAHEAD=0, here its system property, turns it off) on the emulator: a mixed batch's tokens and
     * telemetry equal the step-by-step loop's, greedy and sampled, steps from the third on are recorded ahead, and
     * the graph replays as before. With EOS ids set to tokens the rows produce (a wrapper over the model's dims),
     * rows stop at different steps and the batch ends on an EOS, so one step recorded ahead runs for nothing: results
     * still equal.
     */
    @Test
    void lookAheadDecodingGivesTheSameTokensAndTelemetry() {
        List<GenerationRequest> requests = mixedBatch();
        for (boolean stopAtEos : new boolean[] {false, true}) {
            GenerationOptions opts = new GenerationOptions(12, 0, 1, 0, stopAtEos, null, false);
            Object[] plain = lookAheadRun(requests, opts, false), ahead = lookAheadRun(requests, opts, true);
            assertEquals(plain[0], ahead[0], "tokens, stop at EOS " + stopAtEos);
            assertEquals(plain[1], ahead[1], "telemetry, stop at EOS " + stopAtEos);
            assertEquals(0, (int) plain[2]);
            assertTrue((int) ahead[2] >= 5, "steps recorded ahead: " + ahead[2]);
            if (stopAtEos) assertFalse(plain[0].toString().contains("false"), "every row stopped at an EOS: " + plain[0]);
        }
        // sampled (temperature 1.2, top-p 0.8, seed 7): the draws are made in step order either way
        GenerationOptions sampled = new GenerationOptions(12, 1.2, 0.8, 7, false, null, false);
        Object[] plain = lookAheadRun(requests, sampled, false), ahead = lookAheadRun(requests, sampled, true);
        assertEquals(plain[0], ahead[0], "sampled tokens");
        assertEquals(plain[1], ahead[1], "sampled telemetry");
        assertTrue((int) ahead[2] >= 5, "sampled steps recorded ahead: " + ahead[2]);
    }

    /**
     * {tokens and EOS flags, telemetry, steps recorded ahead}. With {@code stopAtEos} the EOS ids are {274, 173, 45,
     * 146}: tokens these rows produce at steps 1, 10, 9 and 10 (rows 0 and 2 steered), so the batch ends on EOS
     * before its 12 tokens.
     */
    private static Object[] lookAheadRun(List<GenerationRequest> requests, GenerationOptions opts, boolean ahead) {
        boolean stopAtEos = opts.stopAtEos();
        System.setProperty("steer.lookahead", ahead ? "1" : "0");
        CudaBackend be = CudaBackend.emulated(Precision.F32);
        try (LoadedModel m = LoadedModel.open(CliRun.TINY, be)) {
            CausalLm lm = m.lm();
            ModelDims d = lm.dims();
            ModelDims eos = new ModelDims(d.architecture(), d.layers(), d.hidden(), d.vocab(), d.bosId(), d.padId(),
                    new int[] {274, 173, 45, 146});
            CausalLm wrapped = new CausalLm() {
                @Override
                public ModelDims dims() {
                    return stopAtEos ? eos : d;
                }

                @Override
                public Backend backend() {
                    return lm.backend();
                }

                @Override
                public KvCache newCache(int batch, int capacity) {
                    return lm.newCache(batch, capacity);
                }

                @Override
                public Tensor forward(Tensor ids, StepLayout layout, KvCache cache, ResidualHook hook, boolean allSteps) {
                    return lm.forward(ids, layout, cache, hook, allSteps);
                }

                @Override
                public void close() {
                }
            };
            Generator g = new Generator(wrapped);
            List<GenerationResult> out = g.generate(requests, opts);
            assertEquals(0L, be.graphMismatches());
            List<String> tokens = new ArrayList<>();
            List<Object> telemetry = new ArrayList<>();
            for (GenerationResult r : out) {
                tokens.add(java.util.Arrays.toString(r.tokens()) + " eos " + r.stoppedAtEos());
                telemetry.add(r.telemetry());
            }
            return new Object[] {tokens, telemetry, g.lastLookaheadSteps()};
        } finally {
            System.clearProperty("steer.lookahead");
            be.close();
        }
    }

    /** Sampling runs on the device (sample.cu) by the host's rule: same seed, same tokens as the cpu backend. */
    @Test
    void sampledTokensEqualTheCpuBackendsForTheSameSeed() {
        for (String topP : new String[] {"1.0", "0.8"}) {
            String[] args = {"generate", "--model", CliRun.TINY.toString(), "--format", "json", "--max-new-tokens", "10", "--no-stop",
                    "--temperature", "1.2", "--top-p", topP, "--seed", "7", "--prompt", GenerateCommandTest.prompt(0), "--prompt", GenerateCommandTest.prompt(2)};
            CliRun cpu = CliRun.of(args);
            String[] emu = java.util.Arrays.copyOf(args, args.length + 4);
            System.arraycopy(new String[] {"--backend", "cuda-emu", "--precision", "f32"}, 0, emu, args.length, 4);
            CliRun gpu = CliRun.of(emu);
            assertEquals(0, cpu.code(), cpu.err());
            assertEquals(0, gpu.code(), gpu.err());
            for (int p = 0; p < 2; p++)
                assertEquals(cpu.json().getAsJsonArray("results").get(p).getAsJsonObject().getAsJsonArray("tokens"),
                        gpu.json().getAsJsonArray("results").get(p).getAsJsonObject().getAsJsonArray("tokens"), "top-p " + topP + ", prompt " + p);
        }
    }

    /**
     * {@code --backend cuda-emu} in extract, sweep, search and ratio: the same vectors, stored responses and norms
     * as the cpu backend (float32 both; the tiny model's greedy/seeded outputs do not depend on the backend).
     */
    @Test
    void extractSweepSearchAndRatioRunOnTheCudaPath() throws Exception {
        String[] emu = {"--backend", "cuda-emu", "--precision", "f32"};
        ExtractCommandTest.shared = java.nio.file.Files.createDirectories(tmp.resolve("extract"));
        ExtractCommandTest.setUp();
        CliRun ex = ExtractCommandTest.extract(tmp.resolve("vec-emu"), concat(new String[] {"--layers", "all", "--method", "mean_diff", "--position", "mean", "--format", "json"}, emu));
        assertEquals(0, ex.code(), ex.err());
        JsonObject meanDiff = GenerateCommandTest.ref.getAsJsonObject("mean_diff");
        for (int l = 0; l < 4; l++) {
            float[] got = dev.steer.models.vectors.VectorFile.read(tmp.resolve("vec-emu").resolve("mean_diff_layer" + l + ".safetensors"), null).values();
            JsonArray want = meanDiff.getAsJsonArray("prompt_mean").get(l).getAsJsonArray();
            for (int j = 0; j < got.length; j++) assertEquals(want.get(j).getAsDouble(), got[j], 1e-3, "layer " + l + " [" + j + "]");
        }

        SweepSearchCommandTest.tmp = java.nio.file.Files.createDirectories(tmp.resolve("sweep"));
        SweepSearchCommandTest.setUp();
        try {
            Path cpuDb = tmp.resolve("cpu.db"), emuDb = tmp.resolve("emu.db");
            String[] sweep = {"--layers", "1,2", "--coefs", "2,-4", "--batch-size", "3"};
            CliRun a = CliRun.of(SweepSearchCommandTest.args("sweep", cpuDb, sweep));
            CliRun b = CliRun.of(concat(SweepSearchCommandTest.args("sweep", emuDb, sweep), emu));
            assertEquals(0, a.code(), a.err());
            assertEquals(0, b.code(), b.err());
            try (RunStore x = RunStore.open(cpuDb); RunStore y = RunStore.open(emuDb)) {
                assertEquals(5, y.runs().size());
                for (int i = 0; i < 5; i++) {
                    RunRecord rx = x.runs().get(i), ry = y.runs().get(i);
                    // The same config on another backend: the key differs (backend and precision are in it), the answers not.
                    assertNotEquals(rx.configKey(), ry.configKey());
                    assertEquals(rx.layer(), ry.layer());
                    assertEquals(rx.coef(), ry.coef());
                    assertEquals(x.responses(rx.id()), y.responses(ry.id()), "run " + i);
                    if (i > 0) assertEquals(rx.activationNorm(), ry.activationNorm(), 1e-3);
                }
            }
            CliRun search = CliRun.of(concat(SweepSearchCommandTest.args("search", tmp.resolve("search-emu.db"), "--layers", "1", "--steps", "2",
                    "--batch-size", "8", "--format", "json"), emu));
            assertEquals(0, search.code(), search.err());
            assertEquals(2, search.json().getAsJsonArray("layers").get(0).getAsJsonObject().getAsJsonArray("steps").size());
        } finally {
            SweepSearchCommandTest.tearDown();
        }

        String vector = tmp.resolve("vec-emu").resolve("mean_diff_layer1.safetensors").toString();
        String[] ratio = {"ratio", "--model", CliRun.TINY.toString(), "--vector", vector, "--layer", "1", "--target-ratio", "0.5",
                "--trait", "optimism", "--format", "json"};
        CliRun rc = CliRun.of(ratio), re = CliRun.of(concat(ratio, emu));
        assertEquals(0, rc.code(), rc.err());
        assertEquals(0, re.code(), re.err());
        assertEquals(rc.json().get("coef").getAsDouble(), re.json().get("coef").getAsDouble(), 1e-4);
    }

    static String[] concat(String[] a, String[] b) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
    }

    /** A machine without g++: one line naming what is missing, exit 2 (a child JVM, with PATH emptied and no cache). */
    @Test
    void withoutACompilerItSaysSoInOneLine() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer", "generate", "--backend", "cuda-emu",
                "--model", CliRun.TINY.toString(), "--prompt", "hi");
        pb.environment().put("PATH", tmp.resolve("empty-path").toString());
        pb.environment().put("XDG_CACHE_HOME", java.nio.file.Files.createDirectories(tmp.resolve("empty-cache")).toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()), err = new String(p.getErrorStream().readAllBytes());
        assertEquals(2, p.waitFor());
        assertEquals("", out);
        assertEquals("steer: --backend cuda-emu: needs g++ (C++17) on PATH to build the kernel emulator", err.strip());
    }

    /**
     * Teacher-forced logits at every position of the fixture's detail prompt against transformers: float32 to the
     * CPU tests' tolerance; bf16 (weights, KV cache and GEMM operands rounded) by the GPU criterion, top-1
     * on at least 99% of positions, with max |dlogit| bounded loosely (0.109 measured; the gemma-2-2b shape on the
     * H200 gave 0.140).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Precision.class)
    void teacherForcedLogitsMatchTransformers(Precision precision) {
        JsonObject ref = GenerateCommandTest.ref, detail = ref.getAsJsonObject("detail");
        JsonArray idsJ = ref.getAsJsonArray("prompts").get(detail.get("prompt_index").getAsInt()).getAsJsonObject().getAsJsonArray("ids");
        int[] ids = new int[idsJ.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = idsJ.get(i).getAsInt();
        JsonArray want = detail.getAsJsonArray("logits");
        CudaBackend be = CudaBackend.emulated(precision);
        try (LoadedModel m = LoadedModel.open(CliRun.TINY, be); dev.steer.engine.backend.Scope s = be.openScope();
             KvCache cache = m.lm().newCache(1, ids.length)) {
            float[] got = be.toHost(m.lm().forward(be.ints(ids, 1, ids.length), new StepLayout(1, 0, ids.length, new int[] {0}),
                    cache, ResidualHook.NONE, true));
            int v = m.lm().dims().vocab();
            double max = 0;
            int agree = 0;
            for (int t = 0; t < ids.length; t++) {
                JsonArray row = want.get(t).getAsJsonArray();
                int a = 0, b = 0;
                for (int j = 0; j < v; j++) {
                    max = Math.max(max, Math.abs(row.get(j).getAsDouble() - got[t * v + j]));
                    if (got[t * v + j] > got[t * v + a]) a = j;
                    if (row.get(j).getAsDouble() > row.get(b).getAsDouble()) b = j;
                }
                if (a == b) agree++;
            }
            System.out.printf("cuda-emu %s: %d positions, top-1 %d, max |dlogit| %.3g%n", precision, ids.length, agree, max);
            if (precision == Precision.F32) {
                assertEquals(0, max, 1e-3);
                assertEquals(ids.length, agree);
            } else {
                assertTrue(agree >= Math.ceil(0.99 * ids.length), agree + " of " + ids.length);
                assertTrue(max < 0.2, "max |dlogit| " + max);
            }
        } finally {
            be.close();
        }
    }

    @Test
    void normsMatchTheReference() {
        CliRun r = CliRun.of("norms", "--model", CliRun.TINY.toString(), "--format", "json", "--backend", "cuda-emu", "--precision", "f32",
                "--prompt", GenerateCommandTest.prompt(0), "--prompt", GenerateCommandTest.prompt(3));
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        for (int i = 0; i < 2; i++) {
            JsonObject got = o.getAsJsonArray("prompts").get(i).getAsJsonObject();
            JsonObject want = GenerateCommandTest.ref.getAsJsonArray("prompts").get(i * 3).getAsJsonObject();
            JsonArray mean = want.getAsJsonArray("resid_norm_mean");
            for (int l = 0; l < 4; l++)
                assertEquals(mean.get(l).getAsDouble(), got.getAsJsonArray("resid_norm_mean").get(l).getAsDouble(), 1e-3, "prompt " + i + " layer " + l);
        }
    }

    @Test
    void bf16RunsAndSaysWhatItRanOn() {
        CliRun r = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--backend", "cuda-emu", "--max-new-tokens", "4",
                "--prompt", GenerateCommandTest.prompt(1), "--format", "json");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, r.json().getAsJsonArray("results").get(0).getAsJsonObject().getAsJsonArray("tokens").size());
        assertEquals("CPU kernel emulator (emulated, bf16, graph decode)", r.json().get("device").getAsString());
    }
}
