package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.tensor.ArrayTensor;
import dev.steer.engine.tensor.Bf16;
import dev.steer.kernels.check.ReferenceOps;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** How bf16 linear layers of few rows pick cuBLAS or a gemv.cu instantiation (STEER_GEMV). */
class LinearPlanTest {
    /** Unset: auto on a GPU (device run 6's A/B), cuBLAS on the emulator; a set value wins on both. */
    @Test
    void defaultIsAutoOnAGpuAndCublasOnTheEmulator() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("STEER_GEMV") == null, "STEER_GEMV is set here");
        String before = System.getProperty("steer.gemv");
        try {
            System.clearProperty("steer.gemv");
            assertEquals("auto", KernelSettings.fromEnvironment().linearPlan(true).setting());
            assertEquals("cublas", KernelSettings.fromEnvironment().linearPlan(false).setting());
            System.setProperty("steer.gemv", "0");
            assertEquals("cublas", KernelSettings.fromEnvironment().linearPlan(true).setting());
            System.setProperty("steer.gemv", "c2w4");
            assertEquals("c2w4", KernelSettings.fromEnvironment().linearPlan(false).setting());
        } finally {
            if (before == null) System.clearProperty("steer.gemv");
            else System.setProperty("steer.gemv", before);
        }
    }

    @Test
    void settingsParseAndBadOnesNameTheVariableAndTheChoices() {
        assertEquals("cublas", LinearPlan.parse(null, "STEER_GEMV").setting());
        assertEquals("cublas", LinearPlan.parse("0", "STEER_GEMV").setting());
        assertEquals("auto", LinearPlan.parse(" AUTO ", "STEER_GEMV").setting());
        assertEquals("c2w4", LinearPlan.parse("c2w4", "STEER_GEMV").setting());
        assertFalse(LinearPlan.parse("0", "STEER_GEMV").covers(1, 2304), "cuBLAS setting: no linear goes through the plan");
        assertTrue(LinearPlan.parse("auto", "STEER_GEMV").covers(64, 2304), "decode batches up to 64 are timed");
        assertFalse(LinearPlan.parse("auto", "STEER_GEMV").covers(65, 2304), "more than 64 rows: cuBLAS unasked");
        assertTrue(LinearPlan.parse("c2w4", "STEER_GEMV").covers(8, 2304));
        assertFalse(LinearPlan.parse("c2w4", "STEER_GEMV").covers(9, 2304), "a pinned gemv: at most 8 rows");
        assertFalse(LinearPlan.parse("c2w4", "STEER_GEMV").covers(1, 2300), "a pinned gemv: k a multiple of 8");
        for (String bad : new String[] {"1", "c3w3", "fast", "c2w4x"}) {
            BadInputException e = assertThrows(BadInputException.class, () -> LinearPlan.parse(bad, "STEER_GEMV"));
            assertTrue(e.getMessage().startsWith("STEER_GEMV=" + bad + ": expected 0 (cuBLAS), auto, or a gemv configuration: c1w4, c2w4"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
    }

    @Test
    void candidatesTakeTheSmallestRowBoundThatHoldsTheRows() {
        assertEquals(17, LinearPlan.ALL.size(), "gemv.cu's instantiations");
        List<LinearPlan.Gemv> one = LinearPlan.candidates(1);
        assertEquals(7, one.size());
        assertTrue(one.stream().allMatch(g -> g.rows() == 1));
        List<LinearPlan.Gemv> three = LinearPlan.candidates(3);
        assertEquals(List.of("c2w4", "c4w4", "c4w2"), three.stream().map(LinearPlan.Gemv::config).toList());
        assertTrue(three.stream().allMatch(g -> g.rows() == 4));
        assertEquals(List.of(8, 8, 8), LinearPlan.candidates(8).stream().map(LinearPlan.Gemv::rows).toList());
        assertEquals(new LinearPlan.Gemv(2, 8, 1), LinearPlan.candidates(2).stream().filter(g -> g.config().equals("c8w1")).findFirst().orElseThrow());
    }

    /**
     * auto on the emulator: cuBLAS, the cuBLASLt stand-in and the gemv candidates timed once per shape, the winner
     * kept, its output the reference's; k not a multiple of 8 leaves the gemv kernels out.
     */
    @Test
    void autoTimesEveryCandidateOncePerShapeAndKeepsOne() {
        String reason = CudaBackend.emulatorUnavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
        Random random = new Random(5);
        int m = 2, n = 40, k = 264;
        float[] x = new float[m * k], w = new float[n * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (random.nextGaussian() / Math.sqrt(k));
        try (CudaBackend be = CudaBackend.emulated(Precision.BF16, KernelSettings.fromEnvironment().withDecodeAttention(true).withGemv("auto"))) {
            var weight = be.weight(new ArrayTensor("w", new long[] {n, k}, w));
            float[] want = ReferenceOps.linear(Bf16.round(x), Bf16.round(w), k);
            for (int round = 0; round < 2; round++) {
                try (Scope s = be.openScope()) {
                    float[] got = be.toHost(be.linear(be.floats(x, m, k), weight));
                    for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 1e-4, "round " + round + ", element " + i);
                }
            }
            LinearPlan plan = be.linearPlan();
            assertEquals(1, plan.choices().size(), "one shape, tuned once");
            LinearPlan.Choice c = plan.choices().get(new LinearPlan.Shape(m, n, k));
            assertNotNull(c);
            assertTrue(c.micros() > 0 && c.cublasMicros() > 0 && c.micros() <= c.cublasMicros(), c.toString());
            // cuBLAS, the cuBLASLt stand-in and the 4 instantiations that serve 2 rows, each with its median
            assertEquals(6, c.note().split(", ").length, c.note());
            for (String label : new String[] {"cublas ", "lt0 ", "c2w4 ", "c4w4 ", "c4w2 ", "c8w1 "}) assertTrue(c.note().contains(label), c.note());
            String line = plan.describe().get(0);
            assertTrue(line.startsWith("m2 n40 k264: " + c.method().kernel() + " "), line);

            float[] x2 = java.util.Arrays.copyOf(x, m * 260), w2 = java.util.Arrays.copyOf(w, n * 260);
            var weight2 = be.weight(new ArrayTensor("w2", new long[] {n, 260}, w2));
            try (Scope s = be.openScope()) {
                float[] got = be.toHost(be.linear(be.floats(x2, m, 260), weight2));
                float[] want2 = ReferenceOps.linear(Bf16.round(x2), Bf16.round(w2), 260);
                for (int i = 0; i < got.length; i++) assertEquals(want2[i], got[i], 1e-4, "k 260, element " + i);
            }
            LinearPlan.Choice c2 = plan.choices().get(new LinearPlan.Shape(m, n, 260));
            assertEquals(2, c2.note().split(", ").length, "k 260: cuBLAS and cuBLASLt only: " + c2.note());
            @SuppressWarnings("unchecked")
            List<String> reported = (List<String>) be.stats().get("linear_choices");
            assertEquals(plan.describe(), reported);
        }
    }

    @Test
    void aShapeFirstMetWhereNothingCanBeTimedKeepsCublas() {
        LinearPlan plan = LinearPlan.parse("auto", "STEER_GEMV");
        LinearPlan.Shape shape = new LinearPlan.Shape(1, 4096, 2304);
        assertEquals(LinearPlan.CUBLAS, plan.choose(shape, false, null, () -> {
            throw new AssertionError("nothing may be asked of cuBLASLt");
        }, g -> {
            throw new AssertionError("nothing may run");
        }));
        assertEquals(LinearPlan.CUBLAS, plan.choose(shape, true, null, List::of, g -> {
            throw new AssertionError("the shape is decided: nothing is timed again");
        }));
        assertEquals(List.of("m1 n4096 k2304: cublas (met during graph capture: not timed)"), plan.describe());
    }
}
