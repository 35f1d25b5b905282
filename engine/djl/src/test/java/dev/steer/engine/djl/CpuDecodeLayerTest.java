package dev.steer.engine.djl;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PackedLayer;
import dev.steer.engine.backend.RopeTable;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.tensor.ArrayTensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernels' whole decode layer in one call ({@link DjlBackend#decodeLayer}) against the same layer's ops one by one
 * on the same backend (the sequence {@link Backend#decodeLayer} documents): the same bits, for float32 and bf16
 * weights, batches of 1 and 3 (left padding, a pad row with no visible slot), a sliding window shorter than the
 * steps and a score softcap, over steps whose keys and values each path writes into its own cache; the gate|up
 * product large enough to be split across the pool. And the step's other kernels: argmax against the host loop it
 * replaces, a row's softcap split by columns against the row alone, the embedding against PyTorch's.
 */
class CpuDecodeLayerTest {
    static final int HIDDEN = 128, HEADS = 4, KV = 2, D = 32, INNER = 1024, STEPS = 6;

    @Test
    void aDecodeLayerInOneCallEqualsItsOpsBitForBit() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        for (boolean bf16 : new boolean[] {false, true}) {
            // packed (-Dsteer.cpu.pack=on: wherever the shape allows, whatever the default for this CPU) and row by row
            for (String pack : new String[] {"on", "off"}) {
                try (Backend b = CpuKernelOpsTest.openWith(DjlBackend.PACK_PROPERTY, pack, bf16)) {
                    for (int batch : new int[] {1, 3}) {
                        for (AttentionSpec spec : new AttentionSpec[] {new AttentionSpec(HEADS, KV, D, 0.2f, 0f, 0),
                                new AttentionSpec(HEADS, KV, D, 0.2f, 5f, 3)}) {
                            run(b, bf16, pack.equals("on"), batch, spec, INNER);
                        }
                        // an inner width of 1000: the down matrix's columns fill no whole 64-byte unit, so it stays row
                        // by row while the layer's other three matrices are packed
                        run(b, bf16, pack.equals("on"), batch, new AttentionSpec(HEADS, KV, D, 0.2f, 0f, 0), 1000);
                    }
                }
            }
        }
    }

    /** A decode step's inputs: its layout at {@code past}, a random residual h [batch, 1, HIDDEN], its input norm, the rotary table. */
    private record Step(StepLayout layout, Tensor h, Tensor n, RopeTable rope) {
    }

    private static Step step(Backend b, SplittableRandom r, int batch, int past, int[] padLeft, Tensor inputNorm, float eps) {
        StepLayout layout = new StepLayout(batch, past, 1, padLeft);
        Tensor h = b.floats(CpuKernelOpsTest.gaussian(r, batch * HIDDEN, 2), batch, 1, HIDDEN);
        return new Step(layout, h, b.rmsNorm(h, inputNorm, eps), b.ropeTable(layout, D, 10000));
    }

    private static Tensor weight(Backend b, SplittableRandom r, String name, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        return b.weight(new ArrayTensor(name, shape, CpuKernelOpsTest.gaussian(r, n, shape.length == 1 ? 0.3 : 1 / Math.sqrt(shape[1]))));
    }

    private static void run(Backend b, boolean bf16, boolean packs, int batch, AttentionSpec spec, int inner) {
        String what = (bf16 ? "bf16" : "f32") + (packs ? ", packed" : ", row by row") + ", batch " + batch + ", softcap " + spec.softcap() + ", window " + spec.window() + ", inner " + inner;
        SplittableRandom r = new SplittableRandom(batch * 31L + spec.window() + inner);
        long packedBefore = (Long) b.stats().get("packed_weight_bytes");
        PackedLayer w = new PackedLayer(weight(b, r, "qkv", (HEADS + 2 * KV) * D, HIDDEN), weight(b, r, "o", HIDDEN, HEADS * D),
                weight(b, r, "post_attn", HIDDEN), weight(b, r, "pre_ffn", HIDDEN), weight(b, r, "gate_up", 2 * inner, HIDDEN),
                weight(b, r, "down", HIDDEN, inner), weight(b, r, "post_ffn", HIDDEN));
        long packable = (long) (HEADS + 2 * KV) * D * HIDDEN + (long) HIDDEN * HEADS * D + 2L * inner * HIDDEN + (inner % 32 == 0 ? (long) HIDDEN * inner : 0);
        assertEquals(packs ? packable * (bf16 ? 2 : 4) : 0, (Long) b.stats().get("packed_weight_bytes") - packedBefore, what + ": the matrices packed");
        Tensor inputNorm = weight(b, r, "input", HIDDEN), next = weight(b, r, "next", HIDDEN);
        int[] padLeft = batch == 1 ? new int[] {0} : new int[] {0, 1, 3};
        KvCache fused = b.kvCache(1, batch, KV, D, STEPS), ops = b.kvCache(1, batch, KV, D, STEPS);
        float eps = 1e-6f;
        try {
            for (int s = 0; s < STEPS; s++) {
                try (Scope scope = b.openScope()) {
                    Step st = step(b, r, batch, s, padLeft, inputNorm, eps);
                    StepLayout layout = st.layout();
                    Tensor h = st.h(), n = st.n();
                    RopeTable rope = st.rope();
                    Tensor[] got = b.decodeLayer(w, h, n, next, rope, fused, 0, layout, spec, eps);
                    assertNotNull(got, what + ": the kernels' decode layer did not run");
                    Tensor a = b.attentionPacked(b.linear(n, w.qkv()), rope, ops, 0, layout, spec);
                    Tensor[] mid = b.addRmsNorm(h, b.linear(a, w.o()), w.postAttnNorm(), w.preFfnNorm(), eps);
                    Tensor m = b.linear(b.geluTanhMulPacked(b.linear(mid[1], w.gateUp())), w.down());
                    Tensor[] want = b.addRmsNorm(mid[0], m, w.postFfnNorm(), next, eps);
                    assertArrayEquals(b.toHost(want[0]), b.toHost(got[0]), what + ", step " + s + ": the layer's output");
                    assertArrayEquals(b.toHost(want[1]), b.toHost(got[1]), what + ", step " + s + ": its norm");
                }
            }
        } finally {
            fused.close();
            ops.close();
        }
    }

    /**
     * Three consecutive layers in one call ({@link DjlBackend#decodeLayers}: each layer's output and norm the next
     * one's input, in the kernels' scratch) against {@link DjlBackend#decodeLayer} three times: the same bits, float32
     * and bf16, packed and row by row, batches 1 and 3, the layers' windows alternating as Gemma-2's do (global,
     * then sliding), each path writing its own caches over the steps. Layers whose MLP widths differ, and prefill, get
     * null (the caller then runs them one by one).
     */
    @Test
    void severalLayersInOneCallEqualTheLayersOneByOne() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        int layers = 3;
        for (boolean bf16 : new boolean[] {false, true}) {
            for (String pack : new String[] {"on", "off"}) {
                try (Backend b = CpuKernelOpsTest.openWith(DjlBackend.PACK_PROPERTY, pack, bf16)) {
                    SplittableRandom r = new SplittableRandom(bf16 ? 71 : 72);
                    PackedLayer[] w = new PackedLayer[layers];
                    Tensor[] inputNorms = new Tensor[layers + 1];   // the last: the final norm
                    AttentionSpec[] specs = new AttentionSpec[layers];
                    for (int l = 0; l < layers; l++) {
                        w[l] = new PackedLayer(weight(b, r, "qkv" + l, (HEADS + 2 * KV) * D, HIDDEN), weight(b, r, "o" + l, HIDDEN, HEADS * D),
                                weight(b, r, "post_attn" + l, HIDDEN), weight(b, r, "pre_ffn" + l, HIDDEN),
                                weight(b, r, "gate_up" + l, 2 * INNER, HIDDEN), weight(b, r, "down" + l, HIDDEN, INNER),
                                weight(b, r, "post_ffn" + l, HIDDEN));
                        specs[l] = new AttentionSpec(HEADS, KV, D, 0.2f, 5f, l % 2 == 0 ? 0 : 3);
                    }
                    for (int l = 0; l <= layers; l++) inputNorms[l] = weight(b, r, "input" + l, HIDDEN);
                    Tensor[] next = java.util.Arrays.copyOfRange(inputNorms, 1, layers + 1);
                    for (int batch : new int[] {1, 3}) {
                        String what = (bf16 ? "bf16" : "f32") + ", pack " + pack + ", batch " + batch;
                        int[] padLeft = batch == 1 ? new int[] {0} : new int[] {0, 1, 3};
                        KvCache fused = b.kvCache(layers, batch, KV, D, STEPS), single = b.kvCache(layers, batch, KV, D, STEPS);
                        float eps = 1e-6f;
                        try {
                            for (int s = 0; s < STEPS; s++) {
                                try (Scope scope = b.openScope()) {
                                    Step st = step(b, r, batch, s, padLeft, inputNorms[0], eps);
                                    Tensor[] got = b.decodeLayers(w, st.h(), st.n(), next, st.rope(), fused, 0, st.layout(), specs, eps);
                                    assertNotNull(got, what + ": the layers' call did not run");
                                    Tensor[] want = {st.h(), st.n()};
                                    for (int l = 0; l < layers; l++)
                                        want = b.decodeLayer(w[l], want[0], want[1], next[l], st.rope(), single, l, st.layout(), specs[l], eps);
                                    assertArrayEquals(b.toHost(want[0]), b.toHost(got[0]), what + ", step " + s + ": the last layer's output");
                                    assertArrayEquals(b.toHost(want[1]), b.toHost(got[1]), what + ", step " + s + ": its norm by the final norm");
                                }
                            }
                            // two of the layers from layer 1 on: the caches' layers 1 and 2, the same as one by one
                            try (Scope scope = b.openScope()) {
                                KvCache c1 = b.kvCache(layers, batch, KV, D, STEPS), c2 = b.kvCache(layers, batch, KV, D, STEPS);
                                try {
                                    Step st = step(b, r, batch, STEPS - 1, padLeft, inputNorms[1], eps);
                                    Tensor[] got = b.decodeLayers(java.util.Arrays.copyOfRange(w, 1, 3), st.h(), st.n(), java.util.Arrays.copyOfRange(next, 1, 3),
                                            st.rope(), c1, 1, st.layout(), java.util.Arrays.copyOfRange(specs, 1, 3), eps);
                                    Tensor[] one = b.decodeLayer(w[1], st.h(), st.n(), next[1], st.rope(), c2, 1, st.layout(), specs[1], eps);
                                    one = b.decodeLayer(w[2], one[0], one[1], next[2], st.rope(), c2, 2, st.layout(), specs[2], eps);
                                    assertArrayEquals(b.toHost(one[0]), b.toHost(got[0]), what + ": layers 1-2 in one call");
                                } finally {
                                    c1.close();
                                    c2.close();
                                }
                            }
                        } finally {
                            fused.close();
                            single.close();
                        }
                    }
                    // a layer of another MLP width among them: null, nothing done
                    PackedLayer wide = new PackedLayer(w[1].qkv(), w[1].o(), w[1].postAttnNorm(), w[1].preFfnNorm(),
                            weight(b, r, "gate_up_wide", 2 * 2 * INNER, HIDDEN), weight(b, r, "down_wide", HIDDEN, 2 * INNER), w[1].postFfnNorm());
                    KvCache c = b.kvCache(layers, 1, KV, D, 4);
                    try (Scope scope = b.openScope()) {
                        StepLayout layout = new StepLayout(1, 0, 1, new int[] {0});
                        Tensor h = b.floats(CpuKernelOpsTest.gaussian(r, HIDDEN, 2), 1, 1, HIDDEN);
                        assertNull(b.decodeLayers(new PackedLayer[] {w[0], wide}, h, h, new Tensor[] {next[0], next[1]}, b.ropeTable(layout, D, 10000),
                                c, 0, layout, new AttentionSpec[] {specs[0], specs[1]}, 1e-6f));
                        StepLayout prefill = new StepLayout(1, 0, 2, new int[] {0});
                        Tensor h2 = b.floats(CpuKernelOpsTest.gaussian(r, 2 * HIDDEN, 2), 1, 2, HIDDEN);
                        assertNull(b.decodeLayers(new PackedLayer[] {w[0], w[1]}, h2, h2, new Tensor[] {next[0], next[1]}, b.ropeTable(prefill, D, 10000),
                                c, 0, prefill, new AttentionSpec[] {specs[0], specs[1]}, 1e-6f));
                    } finally {
                        c.close();
                    }
                }
            }
        }
    }

    @Test
    void prefillAndTheTorchPathRunTheOpsOneByOne() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        try (Backend b = DjlBackend.cpu(false, 0)) {
            SplittableRandom r = new SplittableRandom(5);
            PackedLayer w = new PackedLayer(weight(b, r, "qkv", (HEADS + 2 * KV) * D, HIDDEN), weight(b, r, "o", HIDDEN, HEADS * D),
                    weight(b, r, "post_attn", HIDDEN), weight(b, r, "pre_ffn", HIDDEN), weight(b, r, "gate_up", 2 * INNER, HIDDEN),
                    weight(b, r, "down", HIDDEN, INNER), weight(b, r, "post_ffn", HIDDEN));
            KvCache c = b.kvCache(1, 1, KV, D, 4);
            StepLayout prefill = new StepLayout(1, 0, 2, new int[] {0});
            try (Scope scope = b.openScope()) {
                Tensor h = b.floats(CpuKernelOpsTest.gaussian(r, 2 * HIDDEN, 1), 1, 2, HIDDEN);
                assertNull(b.decodeLayer(w, h, h, w.postFfnNorm(), b.ropeTable(prefill, D, 10000), c, 0, prefill,
                        new AttentionSpec(HEADS, KV, D, 0.2f, 0f, 0), 1e-6f));
            } finally {
                c.close();
            }
        }
    }

    @Test
    void theKernelsArgmaxIsTheHostLoops() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        float nan = Float.NaN;
        float[][] rows = {
                {1, 3, 3, 2},          // a tie: the lowest index
                {nan, 5, 9, 1},        // a NaN first: nothing is larger than it, so 0 (the host loop's answer)
                {0, nan, -1, 0.5f},    // a NaN later is never larger
                {-2, -2, -2, -2},
        };
        int[] want = {1, 0, 3, 0};
        float[] flat = new float[16];
        for (int i = 0; i < 4; i++) System.arraycopy(rows[i], 0, flat, 4 * i, 4);
        try (Backend b = DjlBackend.cpu(false, 0); Scope s = b.openScope()) {
            assertArrayEquals(want, b.argmax(b.floats(flat, 4, 4)));
            SplittableRandom r = new SplittableRandom(9);
            float[] big = CpuKernelOpsTest.gaussian(r, 3 * 256_000, 3);
            big[256_000 + 123_456] = 40;
            big[2 * 256_000 + 255_999] = 40;
            assertArrayEquals(new int[] {hostArgmax(big, 0, 256_000), 123_456, 255_999}, b.argmax(b.floats(big, 3, 256_000)));
        }
    }

    /** A decode step's 256,000 logits, split across the pool by columns, equal the same row among 16 (a thread a row). */
    @Test
    void aStepsSoftcapSplitByColumnsEqualsTheRowAlone() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        int v = 256_000;
        float[] all = CpuKernelOpsTest.gaussian(new SplittableRandom(12), 16 * v, 40);
        float[] one = java.util.Arrays.copyOfRange(all, 5 * v, 6 * v);
        try (Backend b = DjlBackend.cpu(false, 2); Scope s = b.openScope()) {
            float[] rows = b.toHost(b.softcap(b.floats(all, 16, v), 30f));
            float[] alone = b.toHost(b.softcap(b.floats(one, 1, v), 30f));
            assertArrayEquals(java.util.Arrays.copyOfRange(rows, 5 * v, 6 * v), alone);
        }
    }

    /** The kernels' embedding rows (float32 and bf16 tables) equal PyTorch's gather, cast and multiply bit for bit. */
    @Test
    void theKernelsEmbeddingIsPyTorchs() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        float[] table = CpuKernelOpsTest.gaussian(new SplittableRandom(13), 50 * 24, 1);
        int[] ids = {0, 49, 7, 7, 31, 2};
        for (boolean bf16 : new boolean[] {false, true}) {
            Backend torch = CpuKernelOpsTest.onPyTorch(bf16);
            try (Backend k = DjlBackend.cpu(bf16, 0); Scope a = k.openScope(); Scope b = torch.openScope()) {
                float[] want = torch.toHost(torch.embed(torch.weight(new ArrayTensor("e", new long[] {50, 24}, table)), torch.ints(ids, 2, 3), 4.8989797f));
                float[] got = k.toHost(k.embed(k.weight(new ArrayTensor("e", new long[] {50, 24}, table)), k.ints(ids, 2, 3), 4.8989797f));
                assertArrayEquals(want, got, bf16 ? "bf16" : "f32");
            } finally {
                torch.close();
            }
        }
    }

    private static int hostArgmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }
}
