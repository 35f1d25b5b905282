package dev.steer.engine.djl;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.tensor.ArrayTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The ops the kernels take besides the products (RMSNorm, the fused add between norms, gelu, softcap, and decode
 * steps' attention with rotary, cache write, softcap, sliding window and left padding) against DjlBackend's PyTorch
 * forms (prefill's attention stays on them): the same inputs through a backend with the kernels and one with
 * {@code -Dsteer.cpu.kernels=off}; and that a row's result does not depend on the rows beside it. The forms compute the same
 * formulas in float32 in different orders (and the kernels' exp is a polynomial within 2 ulp), so they agree to
 * a few float32 ulps of the outputs' scale: 2e-6 of it here; a wrong mask slot, rotation sign or head mapping
 * moves outputs by a whole fraction of it.
 */
class CpuKernelOpsTest {
    static Backend kernels;
    static Backend torch;

    @BeforeAll
    static void open() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
        kernels = DjlBackend.cpu(false, 0);
        torch = onPyTorch(false);
        assertTrue(String.valueOf(torch.stats().get("cpu_kernels")).startsWith("off"));
        assertEquals(CpuKernels.ISAS.get(CpuKernels.resolveIsa(-1)), kernels.stats().get("cpu_kernels"));
    }

    /** A backend with every op on PyTorch ({@code -Dsteer.cpu.kernels=off} while it opens, then as before). */
    static Backend onPyTorch(boolean bf16) {
        return openWith(DjlBackend.KERNELS_PROPERTY, "off", bf16);
    }

    /** A backend opened with the system property {@code key} set to {@code value}, restored after. */
    static Backend openWith(String key, String value, boolean bf16) {
        String before = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return DjlBackend.cpu(bf16, 0);
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }

    @AfterAll
    static void close() {
        if (kernels != null) kernels.close();
        if (torch != null) torch.close();
    }

    static float[] gaussian(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    static void assertNear(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 0, worst = 0;
        int at = 0;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            if (d > worst) { worst = d; at = i; }
        }
        double tol = 2e-6 * scale + 1e-30;
        int i = at;
        double w = worst;
        assertTrue(worst <= tol, () -> what + ": max |diff| " + w + " at " + i + " (" + want[i] + " vs " + got[i] + ") > " + tol);
    }

    @Test
    void rmsNormMatchesTheTorchForm() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 37;
        float[] w = gaussian(r, n, 0.3), x = gaussian(r, 2 * 3 * n, 2);
        Tensor wk = kernels.weight(new ArrayTensor("w", new long[] {n}, w)), wt = torch.weight(new ArrayTensor("w", new long[] {n}, w));
        try (Scope a = kernels.openScope(); Scope b = torch.openScope()) {
            float[] got = kernels.toHost(kernels.rmsNorm(kernels.floats(x, 2, 3, n), wk, 1e-6f));
            float[] want = torch.toHost(torch.rmsNorm(torch.floats(x, 2, 3, n), wt, 1e-6f));
            assertNear(want, got, "rmsNorm");
            float[] h = gaussian(r, 2 * 3 * n, 5);
            Tensor[] k = kernels.addRmsNorm(kernels.floats(h, 2, 3, n), kernels.floats(x, 2, 3, n), wk, wk, 1e-6f);
            Tensor[] t = torch.addRmsNorm(torch.floats(h, 2, 3, n), torch.floats(x, 2, 3, n), wt, wt, 1e-6f);
            assertNear(torch.toHost(t[0]), kernels.toHost(k[0]), "addRmsNorm's residual");
            assertNear(torch.toHost(t[1]), kernels.toHost(k[1]), "addRmsNorm's norm of it");
        }
    }

    @Test
    void geluMatchesTheTorchForm() {
        SplittableRandom r = new SplittableRandom(4);
        int inner = 50;
        float[] gu = gaussian(r, 4 * 2 * inner, 3);
        gu[0] = 12;
        gu[1] = -12;
        gu[2] = 1e-4f;
        gu[3] = -40;
        try (Scope a = kernels.openScope(); Scope b = torch.openScope()) {
            float[] got = kernels.toHost(kernels.geluTanhMulPacked(kernels.floats(gu, 1, 4, 2 * inner)));
            float[] want = torch.toHost(torch.geluTanhMulPacked(torch.floats(gu, 1, 4, 2 * inner)));
            assertNear(want, got, "gelu_tanh(gate) * up");
            // every variant the CPU runs (the backend uses the best), straight on the kernel
            for (int isa = 0; isa <= CpuKernels.resolveIsa(-1); isa++) {
                java.nio.ByteBuffer y = CpuKernelsTest.direct(4L * 4 * inner);
                CpuKernels.geluTanhMulPacked(isa, CpuKernelsTest.floats(gu), y, 4, inner);
                assertNear(want, CpuKernelsTest.read(y, 4 * inner), "gelu_tanh(gate) * up on " + CpuKernels.ISAS.get(isa));
            }
        }
    }

    /** The floor's pass over the weights themselves reads every matrix (whole 256-byte blocks), not the norm vectors. */
    @Test
    void theWeightReadPassCoversEveryMatrix() {
        try (DjlBackend b = DjlBackend.cpu(false, 0)) {
            b.weight(new ArrayTensor("a", new long[] {300, 1000}, new float[300 * 1000]));
            b.weight(new ArrayTensor("b", new long[] {7, 9}, new float[63]));
            b.weight(new ArrayTensor("norm", new long[] {1000}, new float[1000]));
            assertEquals(300 * 1000 * 4L / 256 * 256 + 7 * 9 * 4L / 256 * 256, b.weightReadBytes());
            double bw = b.weightReadBandwidth(2);
            assertTrue(bw > 1e8 && Double.isFinite(bw), bw + " bytes/s");
        }
    }

    /**
     * Row 5 of 20 rows (split across the pool from 16 on) against row 5 alone: the same bits for every row-wise op
     * and the product, so batch composition cannot move a row's output.
     */
    /** A backend on the kernels with weight matrices row by row ({@code -Dsteer.cpu.pack=off} while it opens). */
    static Backend unpacked(boolean bf16) {
        return openWith(DjlBackend.PACK_PROPERTY, "off", bf16);
    }

    /**
     * Weight matrices the kernels pack (4-row blocks): read back as uploaded; their products and embedding rows bit
     * for bit those of the same kernels on the matrix row by row (float32 and bf16), and for float32 as PyTorch's
     * (bf16's PyTorch form rounds its output to bf16, another arithmetic); also when a call's rows exceed one kernel
     * buffer and run as slices (the buffer limit lowered here to force it). A shape without a packed form stays row
     * by row; by default (no -Dsteer.cpu.pack) matrices pack only where the instruction set's packed kernel is the
     * faster.
     */
    @Test
    void packedWeightsReadBackAndMultiplyAsRowByRow() {
        assertEquals(java.util.List.of(false, true, true, true), java.util.List.of(CpuKernels.packsByDefault(0, 4), CpuKernels.packsByDefault(1, 2),
                CpuKernels.packsByDefault(2, 4), CpuKernels.packsByDefault(3, 2)), "scalar no, AVX2 bf16, AVX-512 yes");
        assertEquals(java.util.List.of(false, false), java.util.List.of(CpuKernels.packsByDefault(1, 4), CpuKernels.packsByDefault(0, 2)),
                "AVX2 float32 and scalar bf16 stay row by row");
        SplittableRandom r = new SplittableRandom(21);
        int rows = 40, cols = 96, m = 7;
        float[] w = gaussian(r, rows * cols, 0.1), odd = gaussian(r, 6 * 50, 0.1), x = gaussian(r, m * cols, 1);
        int[] ids = {3, 39, 0, 17, 17, 8, 21};
        for (boolean bf16 : new boolean[] {false, true}) {
            try (Backend k = openWith(DjlBackend.PACK_PROPERTY, "on", bf16); Backend u = unpacked(bf16); Backend t = onPyTorch(bf16);
                 Backend d = DjlBackend.cpu(bf16, 0)) {
                Tensor wk = k.weight(new ArrayTensor("w", new long[] {rows, cols}, w)), wu = u.weight(new ArrayTensor("w", new long[] {rows, cols}, w)),
                        wt = t.weight(new ArrayTensor("w", new long[] {rows, cols}, w));
                k.weight(new ArrayTensor("odd", new long[] {6, 50}, odd));
                String what = bf16 ? "bf16" : "f32";
                assertEquals((long) rows * cols * (bf16 ? 2 : 4), k.stats().get("packed_weight_bytes"), what + ": only the 40x96 matrix packs");
                assertEquals(0L, u.stats().get("packed_weight_bytes"), what + " with -Dsteer.cpu.pack=off");
                // by default only where the instruction set's packed kernel is the faster (AVX2 float32 is not)
                d.weight(new ArrayTensor("w", new long[] {rows, cols}, w));
                int isa = CpuKernels.ISAS.indexOf((String) d.stats().get("cpu_kernels"));
                assertEquals(CpuKernels.packsByDefault(isa, bf16 ? 2 : 4) ? (long) rows * cols * (bf16 ? 2 : 4) : 0L,
                        d.stats().get("packed_weight_bytes"), what + " on " + d.stats().get("cpu_kernels") + " by default");
                assertArrayEquals(t.toHost(wt), k.toHost(wk), what + ": a packed weight reads back as uploaded");
                try (Scope a = k.openScope(); Scope b = u.openScope(); Scope c = t.openScope()) {
                    float[] whole = k.toHost(k.linear(k.floats(x, 1, m, cols), wk));
                    assertArrayEquals(u.toHost(u.linear(u.floats(x, 1, m, cols), wu)), whole, what + " linear, packed against row by row");
                    if (!bf16) assertNear(t.toHost(t.linear(t.floats(x, 1, m, cols), wt)), whole, what + " linear on packed weights against PyTorch");
                    float[] rowsWhole = k.toHost(k.embed(wk, k.ints(ids, 1, m), 2f));
                    assertArrayEquals(t.toHost(t.embed(wt, t.ints(ids, 1, m), 2f)), rowsWhole, what + " embedding rows of a packed table");
                    // an id outside the table is refused, whichever side, on the kernels and on PyTorch's gather
                    // (which for float32 wraps -1 to the last row)
                    for (int bad : new int[] {-1, rows, -7}) {
                        for (Backend side : new Backend[] {k, t}) {
                            Tensor table = side == k ? wk : wt;
                            dev.steer.engine.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(dev.steer.engine.BadInputException.class,
                                    () -> side.embed(table, side.ints(new int[] {2, bad, 5}, 1, 3), 1f), what + " id " + bad + (side == k ? " on the kernels" : " on PyTorch"));
                            assertEquals("token id " + bad + " is outside the model's 40-row embedding table: does the tokenizer match the checkpoint?",
                                    e.getMessage());
                        }
                    }
                    long before = DjlBackend.callBufferBytes;
                    DjlBackend.callBufferBytes = 4L * cols * 3;   // 3 rows a call: slices of 3, 3, 1
                    try {
                        assertArrayEquals(whole, k.toHost(k.linear(k.floats(x, 1, m, cols), wk)), what + " linear in slices");
                        assertArrayEquals(rowsWhole, k.toHost(k.embed(wk, k.ints(ids, 1, m), 2f)), what + " embedding in slices");
                    } finally {
                        DjlBackend.callBufferBytes = before;
                    }
                }
            }
        }
    }

    @Test
    void aRowsResultDoesNotDependOnTheRowsBesideIt() {
        SplittableRandom r = new SplittableRandom(8);
        int n = 96, rowsOut = 37;
        float[] x = gaussian(r, 20 * n, 2), h = gaussian(r, 20 * n, 1), gu = gaussian(r, 20 * 2 * n, 2), w = gaussian(r, n, 0.3);
        Tensor norm = kernels.weight(new ArrayTensor("w", new long[] {n}, w));
        Tensor mat = kernels.weight(new ArrayTensor("m", new long[] {rowsOut, n}, gaussian(r, rowsOut * n, 0.1)));
        float[] x5 = java.util.Arrays.copyOfRange(x, 5 * n, 6 * n), h5 = java.util.Arrays.copyOfRange(h, 5 * n, 6 * n);
        float[] gu5 = java.util.Arrays.copyOfRange(gu, 5 * 2 * n, 6 * 2 * n);
        try (Scope s = kernels.openScope()) {
            Tensor all = kernels.floats(x, 1, 20, n), one = kernels.floats(x5, 1, 1, n);
            assertRow5(kernels.toHost(kernels.rmsNorm(all, norm, 1e-6f)), kernels.toHost(kernels.rmsNorm(one, norm, 1e-6f)), n, "rmsNorm");
            Tensor[] fa = kernels.addRmsNorm(kernels.floats(h, 1, 20, n), all, norm, norm, 1e-6f);
            Tensor[] f1 = kernels.addRmsNorm(kernels.floats(h5, 1, 1, n), one, norm, norm, 1e-6f);
            assertRow5(kernels.toHost(fa[1]), kernels.toHost(f1[1]), n, "addRmsNorm");
            assertRow5(kernels.toHost(kernels.geluTanhMulPacked(kernels.floats(gu, 1, 20, 2 * n))),
                    kernels.toHost(kernels.geluTanhMulPacked(kernels.floats(gu5, 1, 1, 2 * n))), n, "gelu");
            assertRow5(kernels.toHost(kernels.softcap(all, 3f)), kernels.toHost(kernels.softcap(one, 3f)), n, "softcap");
            assertRow5(kernels.toHost(kernels.linear(all, mat)), kernels.toHost(kernels.linear(one, mat)), rowsOut, "linear");
        }
    }

    static void assertRow5(float[] all, float[] one, int width, String what) {
        assertArrayEquals(one, java.util.Arrays.copyOfRange(all, 5 * width, 6 * width), what + ": row 5 of 20 against it alone");
    }

    @Test
    void softcapMatchesTheTorchForm() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = gaussian(r, 2 * 1003, 20);
        x[0] = 400;
        x[1] = -400;
        x[2] = 1e-3f;
        try (Scope a = kernels.openScope(); Scope b = torch.openScope()) {
            float[] want = torch.toHost(torch.softcap(torch.floats(x, 2, 1003), 30f));
            assertNear(want, kernels.toHost(kernels.softcap(kernels.floats(x, 2, 1003), 30f)), "softcap");
            for (int isa = 0; isa <= CpuKernels.resolveIsa(-1); isa++) {
                java.nio.ByteBuffer y = CpuKernelsTest.direct(4L * x.length);
                CpuKernels.softcap(isa, CpuKernelsTest.floats(x), y, 2, 1003, 30f);
                assertNear(want, CpuKernelsTest.read(y, x.length), "softcap on " + CpuKernels.ISAS.get(isa));
            }
        }
    }

    /**
     * A prompt on the PyTorch form (one row left-padded: its first position sees no key, the pad rule), then decode
     * steps past the window on the kernels, each step's output compared with the PyTorch form's; the kernels read
     * the cache the PyTorch form wrote at prefill and write their own slots after it. Batches of 2 split across the
     * pool by rows, a single row of 64-wide heads by kv heads.
     */
    @Test
    void attentionMatchesTheTorchForm() {
        for (float softcap : new float[] {0f, 5f}) {
            for (int window : new int[] {0, 3}) {
                String what = "softcap " + softcap + ", window " + window;
                AttentionSpec spec = new AttentionSpec(4, 2, 8, 0.35f, softcap, window);
                run(spec, 2, 3, new int[] {0, 1}, 5, what + ", batch 2, padded");
                run(spec, 1, 12, new int[] {0}, 4, what + ", batch 1");
                // large enough for the pool (SMALL_ATTENTION in steercpu.c): one row's kv heads split across threads
                run(new AttentionSpec(4, 2, 64, 0.125f, softcap, window), 1, 64, new int[] {0}, 3, what + ", batch 1, kv heads across the pool");
            }
        }
    }

    private static void run(AttentionSpec spec, int batch, int prompt, int[] padLeft, int steps, String what) {
        SplittableRandom r = new SplittableRandom(11);
        int width = (spec.heads() + 2 * spec.kvHeads()) * spec.headDim();
        int capacity = prompt + steps;
        KvCache ck = kernels.kvCache(1, batch, spec.kvHeads(), spec.headDim(), capacity);
        KvCache ct = torch.kvCache(1, batch, spec.kvHeads(), spec.headDim(), capacity);
        try {
            for (int s = 0; s <= steps; s++) {
                int t = s == 0 ? prompt : 1, past = s == 0 ? 0 : prompt + s - 1;
                StepLayout layout = new StepLayout(batch, past, t, padLeft);
                float[] qkv = gaussian(r, batch * t * width, 1);
                try (Scope a = kernels.openScope(); Scope b = torch.openScope()) {
                    float[] got = kernels.toHost(kernels.attentionPacked(kernels.floats(qkv, batch, t, width),
                            kernels.ropeTable(layout, spec.headDim(), 100), ck, 0, layout, spec));
                    float[] want = torch.toHost(torch.attentionPacked(torch.floats(qkv, batch, t, width),
                            torch.ropeTable(layout, spec.headDim(), 100), ct, 0, layout, spec));
                    assertNear(want, got, what + ", step " + s);
                }
            }
        } finally {
            ck.close();
            ct.close();
        }
    }
}
