package dev.steer.kernels.check;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.steer.engine.backend.AttentionSpec;
import org.junit.jupiter.api.Test;

/** The references against numbers worked out by hand, so the GPU is compared with something known right. */
class ReferenceOpsTest {
    @Test
    void rmsNormScalesByOnePlusWeight() {
        // mean(3², 4²) = 12.5; w = {0, 1} multiplies by 1 and 2
        float[] out = ReferenceOps.rmsNorm(new float[] {3, 4}, new float[] {0, 1}, 0f);
        assertArrayEquals(new float[] {(float) (3 / Math.sqrt(12.5)), (float) (8 / Math.sqrt(12.5))}, out, 1e-6f);
    }

    @Test
    void linearUsesOutInWeights() {
        // x [1, 2] · w [3, 2]ᵀ
        float[] out = ReferenceOps.linear(new float[] {1, 2}, new float[] {1, 0, 0, 1, 1, 1}, 2);
        assertArrayEquals(new float[] {1, 2, 3}, out);
    }

    @Test
    void geluTanhMatchesTorch() {
        // torch.nn.functional.gelu(torch.tensor(1.0, dtype=torch.float64), approximate="tanh") = 0.8411919906082768
        assertEquals(0.8411919906082768 * 2, ReferenceOps.geluTanhMul(new float[] {1}, new float[] {2})[0], 1e-6);
        assertEquals(0f, ReferenceOps.geluTanhMul(new float[] {0}, new float[] {5})[0]);
    }

    @Test
    void softcapBoundsLargeValues() {
        float[] out = ReferenceOps.softcap(new float[] {0, 30, 1000}, 30f);
        assertArrayEquals(new float[] {0f, (float) (Math.tanh(1) * 30), 30f}, out, 1e-5f);
    }

    @Test
    void ropeRotatesHalvesByPositionTimesFrequency() {
        // headDim 4: frequencies θ^0 = 1 and θ^(-1/2) = 0.01 for θ = 10000; position 2
        float[] x = {1, 0, 0, 1};   // pairs (x0, x2) = (1, 0) and (x1, x3) = (0, 1)
        float[] out = ReferenceOps.rope(x, 1, 4, new int[] {2}, 10000.0);
        assertArrayEquals(new float[] {(float) Math.cos(2), (float) -Math.sin(0.02), (float) Math.sin(2), (float) Math.cos(0.02)}, out, 1e-6f);
    }

    /** With q = 0 every visible key gets the same weight, so output = mean of the visible values (value j = j). */
    private static float[] meanOfVisible(int past, int steps, int slots, int pad, int window, int heads, int kvHeads) {
        AttentionSpec spec = new AttentionSpec(heads, kvHeads, 1, 1f, 0f, window);
        float[] keys = new float[slots * kvHeads], values = new float[slots * kvHeads];
        for (int j = 0; j < slots; j++)
            for (int h = 0; h < kvHeads; h++) values[j * kvHeads + h] = j + 100 * h;
        return ReferenceOps.attention(new float[steps * heads], keys, values, 1, steps, slots, past, new int[] {pad}, spec);
    }

    @Test
    void attentionSeesOnlyCausalNonPadKeysInsideTheWindow() {
        // slots 0..5, pad 2; query slot 5 sees 2..5 → mean 3.5
        assertEquals(3.5f, meanOfVisible(5, 1, 6, 2, 0, 1, 1)[0], 1e-6f);
        // window 2: query slot 5 sees 4, 5 only
        assertEquals(4.5f, meanOfVisible(5, 1, 6, 2, 2, 1, 1)[0], 1e-6f);
        // prefill of slots 0..3 with pad 2: queries 0, 1 are pad (zeros), query 2 sees {2}, query 3 sees {2, 3}
        assertArrayEquals(new float[] {0f, 0f, 2f, 2.5f}, meanOfVisible(0, 4, 4, 2, 0, 1, 1), 1e-6f);
    }

    @Test
    void attentionGroupsQueryHeadsOntoKvHeads() {
        // 4 query heads, 2 kv heads: heads 0, 1 read kv head 0 (values j), heads 2, 3 read kv head 1 (values 100 + j)
        float[] out = meanOfVisible(1, 1, 2, 0, 0, 4, 2);
        assertArrayEquals(new float[] {0.5f, 0.5f, 100.5f, 100.5f}, out, 1e-5f);
    }

    @Test
    void attentionSoftcapsScoresBeforeTheSoftmax() {
        // one query, two keys with scores 100 and 0; capped at 1 they become tanh(100) ≈ 1 and 0
        AttentionSpec spec = new AttentionSpec(1, 1, 1, 1f, 1f, 0);
        float[] out = ReferenceOps.attention(new float[] {100}, new float[] {1, 0}, new float[] {1, 0}, 1, 1, 2, 1, new int[] {0}, spec);
        double e = Math.exp(Math.tanh(100));
        assertEquals(e / (e + 1), out[0], 1e-6);
    }

    @Test
    void steerAddsMaskedDeltaAndNormsAreBeforeTheAdd() {
        float[] h = {3, 4, 0, 1};                     // [1, 2, 2]
        float[] out = ReferenceOps.steer(h, new float[] {10, 20}, new float[] {1, 0}, 1, 2, 2);
        assertArrayEquals(new float[] {13, 24, 0, 1}, out);
        assertArrayEquals(new float[] {5, 1}, ReferenceOps.norms(h, 2));
    }

    @Test
    void argmaxTakesTheLowestIndexOfATie() {
        assertArrayEquals(new int[] {1, 0}, ReferenceOps.argmax(new float[] {0, 5, 5, 2, 2, 1}, 3));
    }

    @Test
    void lastStepPicksTheFinalStepOfEveryRow() {
        assertArrayEquals(new float[] {3, 4, 7, 8}, ReferenceOps.lastStep(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2));
    }
}
