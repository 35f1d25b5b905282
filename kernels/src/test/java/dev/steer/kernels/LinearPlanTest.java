package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.tensor.ArrayTensor;
import dev.steer.engine.tensor.Bf16;
import dev.steer.kernels.reference.ReferenceOps;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** How bf16 linear layers of few rows pick cuBLAS or a gemv.cu instantiation (STEER_GEMV). */
class LinearPlanTest {
    @Test
    void settingsParseAndBadOnesNameTheVariableAndTheChoices() {
        assertEquals("cublas", LinearPlan.parse(null, "STEER_GEMV").setting());
        assertEquals("cublas", LinearPlan.parse("0", "STEER_GEMV").setting());
        assertEquals("auto", LinearPlan.parse(" AUTO ", "STEER_GEMV").setting());
        assertEquals("c2w4", LinearPlan.parse("c2w4", "STEER_GEMV").setting());
        assertFalse(LinearPlan.parse("0", "STEER_GEMV").covers(1, 2304), "cuBLAS setting: no linear goes through the plan");
        assertTrue(LinearPlan.parse("auto", "STEER_GEMV").covers(8, 2304));
        assertFalse(LinearPlan.parse("auto", "STEER_GEMV").covers(9, 2304), "more than 8 rows: cuBLAS");
        assertFalse(LinearPlan.parse("auto", "STEER_GEMV").covers(1, 2300), "k not a multiple of 8: cuBLAS");
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

    /** auto on the emulator: every candidate and cuBLAS timed once per shape, the winner kept, its output the reference's. */
    @Test
    void autoTimesEveryCandidateOncePerShapeAndKeepsOne() {
        String reason = CudaBackend.emulatorUnavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
        Random random = new Random(5);
        int m = 2, n = 40, k = 264;
        float[] x = new float[m * k], w = new float[n * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (random.nextGaussian() / Math.sqrt(k));
        try (CudaBackend be = CudaBackend.emulated(Precision.BF16).optInKernels(true, "auto")) {
            var weight = be.weight(new ArrayTensor("w", new long[] {n, k}, w));
            float[] want = ReferenceOps.linear(Bf16.round(x), Bf16.round(w), k);
            for (int round = 0; round < 2; round++) {
                try (Scope s = be.openScope()) {
                    float[] got = be.toHost(be.linear(be.floats(x, m, k), weight));
                    for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 1e-4, "round " + round + ", element " + i);
                }
            }
            LinearPlan plan = be.ops().linearPlan;
            assertEquals(1, plan.choices().size(), "one shape, tuned once");
            LinearPlan.Choice c = plan.choices().get(new LinearPlan.Shape(m, n, k));
            assertNotNull(c);
            assertTrue(c.micros() > 0 && c.cublasMicros() > 0 && c.micros() <= c.cublasMicros(), c.toString());
            // cuBLAS and the 4 instantiations that serve 2 rows, each with its median
            assertEquals(5, c.timings().split(", ").length, c.timings());
            assertTrue(c.timings().contains("cublas "), c.timings());
            String line = plan.describe().get(0);
            assertTrue(line.startsWith("m2 n40 k264: " + c.kernel() + " "), line);
            @SuppressWarnings("unchecked")
            List<String> reported = (List<String>) be.stats().get("linear_choices");
            assertEquals(plan.describe(), reported);
        }
    }

    @Test
    void aShapeFirstMetWhereNothingCanBeTimedKeepsCublas() {
        LinearPlan plan = LinearPlan.parse("auto", "STEER_GEMV");
        LinearPlan.Shape shape = new LinearPlan.Shape(1, 4096, 2304);
        assertNull(plan.choose(shape, false, null, g -> {
            throw new AssertionError("nothing may run");
        }));
        assertNull(plan.choose(shape, true, null, g -> {
            throw new AssertionError("the shape is decided: nothing is timed again");
        }));
        assertEquals(List.of("m1 n4096 k2304: cublas (met during graph capture: not timed)"), plan.describe());
    }
}
