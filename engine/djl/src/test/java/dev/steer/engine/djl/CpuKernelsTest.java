package dev.steer.engine.djl;

import dev.steer.engine.tensor.Bf16;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * steer's CPU kernels against references computed here in double precision, on every instruction-set variant this
 * CPU runs (the others are reported as not run): the products with float32 and bf16 weights at shapes with ragged
 * row blocks and column tails, the bf16 rounding of the activations, and the thread pool's row split.
 *
 * <p>Tolerance of a product: float32 accumulation of {@code cols} terms in any order is within
 * {@code cols · 2^-24 · Σ|w·x|} of the exact sum (the standard bound for recursive summation, γ_n), and the bf16
 * products are exact in float32 (8-bit significands), so the bf16 reference is the exact sum of
 * {@code bf16(w) · bf16(x)}: a wrong row, column, tail, rounding or thread split is off by whole terms, far outside.
 */
class CpuKernelsTest {
    @BeforeEach
    void assumeKernels() {
        assumeTrue(CpuKernels.available(), () -> "kernels not loaded: " + CpuKernels.problem());
    }

    /** The variants this CPU runs, printed with the ones it cannot. */
    static List<Integer> variants() {
        int best = CpuKernels.resolveIsa(-1);
        List<Integer> v = new ArrayList<>();
        for (int i = 0; i <= best; i++) v.add(i);
        System.out.println("kernel variants run: " + CpuKernels.ISAS.subList(0, best + 1) + (best + 1 < CpuKernels.ISAS.size()
                ? ", not on this CPU: " + CpuKernels.ISAS.subList(best + 1, CpuKernels.ISAS.size()) : ""));
        return v;
    }

    static ByteBuffer direct(long bytes) {
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    static ByteBuffer floats(float[] v) {
        ByteBuffer b = direct(4L * v.length);
        b.asFloatBuffer().put(v);
        return b;
    }

    static float[] read(ByteBuffer b, int n) {
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        return v;
    }

    static float[] gaussian(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    /** Runs a product on the kernels: y [m, rows]. */
    static float[] gemv(int isa, float[] w, boolean bf16, float[] x, int m, int rows, int cols) {
        ByteBuffer wb;
        if (bf16) {
            wb = direct(2L * w.length);
            for (int i = 0; i < w.length; i++) wb.putShort(2 * i, Bf16.fromFloat(w[i]));
        } else {
            wb = floats(w);
        }
        ByteBuffer y = direct(4L * m * rows);
        CpuKernels.gemv(isa, CpuKernels.address(wb), bf16 ? CpuKernels.W_BF16 : CpuKernels.W_F32, floats(x), y, m, rows, cols);
        return read(y, m * rows);
    }

    static void checkProduct(int isa, boolean bf16, int m, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = gaussian(r, rows * cols, 0.05), x = gaussian(r, m * cols, 1);
        float[] y = gemv(isa, w, bf16, x, m, rows, cols);
        for (int i = 0; i < m; i++) {
            for (int o = 0; o < rows; o++) {
                double exact = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double wv = bf16 ? Bf16.toFloat(Bf16.fromFloat(w[o * cols + c])) : w[o * cols + c];
                    double xv = bf16 ? Bf16.round(x[i * cols + c]) : x[i * cols + c];
                    exact += wv * xv;
                    mag += Math.abs(wv * xv);
                }
                double bound = cols * 0x1p-24 * mag + 1e-30;
                double err = Math.abs(y[i * rows + o] - exact);
                int row = i, out = o;
                double want = exact;
                assertTrue(err <= bound, () -> String.format("%s %s m=%d rows=%d cols=%d: y[%d][%d] = %s, exact %s, error %.3g > bound %.3g",
                        CpuKernels.ISAS.get(isa), bf16 ? "bf16" : "f32", m, rows, cols, row, out, y[row * rows + out], want, err, bound));
            }
        }
    }

    @Test
    void productsMatchTheExactSumOnEveryVariant() {
        int[][] shapes = {{1, 1, 1}, {1, 5, 7}, {3, 37, 75}, {8, 33, 100}, {1, 64, 2304}, {2, 19, 64}, {4, 8, 33}, {5, 13, 48}};
        long seed = 1;
        for (int isa : variants()) {
            for (int[] s : shapes) {
                checkProduct(isa, false, s[0], s[1], s[2], seed++);
                checkProduct(isa, true, s[0], s[1], s[2], seed++);
            }
        }
    }

    /** A row computed differently than its neighbours shows up: rows 0..n-1 of an identity-like weight. */
    @Test
    void everyRowLandsInItsPlace() {
        int rows = 45, cols = 48, m = 3;
        float[] w = new float[rows * cols];
        for (int o = 0; o < rows; o++) w[o * cols + (o % cols)] = 1;
        float[] x = new float[m * cols];
        for (int i = 0; i < m; i++) for (int c = 0; c < cols; c++) x[i * cols + c] = 100 * i + c;   // exact in bf16 below 256
        for (int isa : variants()) {
            for (boolean bf16 : new boolean[] {false, true}) {
                float[] y = gemv(isa, w, bf16, x, m, rows, cols);
                for (int i = 0; i < m; i++)
                    for (int o = 0; o < rows; o++) {
                        float want = bf16 ? Bf16.round(x[i * cols + o % cols]) : x[i * cols + o % cols];
                        assertEquals(want, y[i * rows + o], CpuKernels.ISAS.get(isa) + (bf16 ? " bf16" : " f32") + " y[" + i + "][" + o + "]");
                    }
            }
        }
    }

    /** bf16 weights multiply the activation rounded to nearest, ties to even, as the CUDA path and torch's .to(bfloat16). */
    @Test
    void bf16ActivationsRoundToNearestEven() {
        float[] x = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 1 + 0x1p-8f + 0x1p-20f, -(1 + 0x1p-8f), 3.0e38f};
        float[] want = {1f, 1 + 0x1p-6f, 1 + 0x1p-7f, -1f, Bf16.round(3.0e38f)};
        for (int isa : variants()) {
            for (int i = 0; i < x.length; i++) {
                float[] y = gemv(isa, new float[] {1f}, true, new float[] {x[i]}, 1, 1, 1);
                assertEquals(want[i], y[0], CpuKernels.ISAS.get(isa) + ": bf16(" + x[i] + ")");
            }
        }
    }

    /**
     * Each row is computed by one thread with the same code, so 1, 2 or 3 threads give the same bits (a product this
     * size, 2 x 203 x 1300 multiply-adds, is above the size that stays on the calling thread alone).
     */
    @Test
    void theThreadSplitDoesNotChangeABit() {
        SplittableRandom r = new SplittableRandom(9);
        int rows = 203, cols = 1300, m = 2;
        float[] w = gaussian(r, rows * cols, 0.05), x = gaussian(r, m * cols, 1);
        int before = CpuKernels.useThreads(1);
        try {
            for (int isa : variants()) {
                for (boolean bf16 : new boolean[] {false, true}) {
                    CpuKernels.useThreads(1);
                    float[] one = gemv(isa, w, bf16, x, m, rows, cols);
                    for (int t : new int[] {2, 3}) {
                        assertEquals(t, CpuKernels.useThreads(t));
                        assertArrayEquals(one, gemv(isa, w, bf16, x, m, rows, cols), CpuKernels.ISAS.get(isa) + " with " + t + " threads");
                    }
                }
            }
        } finally {
            CpuKernels.useThreads(before);
        }
    }

    /** A weight matrix in native memory as the kernels take it: float32, or bf16 bits. */
    static ByteBuffer weights(float[] w, boolean bf16) {
        if (!bf16) return floats(w);
        ByteBuffer wb = direct(2L * w.length);
        for (int i = 0; i < w.length; i++) wb.putShort(2 * i, Bf16.fromFloat(w[i]));
        return wb;
    }

    static float[] readWeights(ByteBuffer wb, boolean bf16, int n) {
        if (!bf16) return read(wb, n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Bf16.toFloat(wb.getShort(2 * i));
        return v;
    }

    /** The row-by-row form of a matrix read in the packed layout: element (r, c) from steercpu.c's packed_index. */
    static float[] unpacked(float[] packed, int rows, int cols, int elementBytes) {
        int unit = 64 / elementBytes;
        float[] rowByRow = new float[packed.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                rowByRow[r * cols + c] = packed[(r / 4 * 4) * cols + (c / unit) * (4 * unit) + (r % 4) * unit + c % unit];
        return rowByRow;
    }

    /**
     * The packed layout (4 rows interleaved in 64-byte units) gives every product bit for bit the row-by-row one, on
     * every variant, for 1-9 activation rows (each kernel's groups of 1, 2, 4 and their remainders), on shapes from
     * one block to one above the size the pool splits; and the memory really is rearranged as the layout says.
     */
    @Test
    void packedProductsEqualTheRowByRowOnesBitForBit() {
        // 12 x 160 holds tiny values whose products vdpbf16ps flushes to -0; 36 rows split across the pool at 8 rows a
        // chunk leave a 4-row last chunk
        int[][] shapes = {{4, 32}, {8, 64}, {36, 96}, {64, 2304}, {12, 160}, {208, 1312}, {1044, 320}};
        long seed = 40;
        int before = CpuKernels.useThreads(2);
        try {
            for (int isa : variants()) {
                for (boolean bf16 : new boolean[] {false, true}) {
                    int wt = bf16 ? CpuKernels.W_BF16 : CpuKernels.W_F32;
                    for (int[] s : shapes) {
                        int rows = s[0], cols = s[1];
                        SplittableRandom r = new SplittableRandom(seed++);
                        float[] w = gaussian(r, rows * cols, 0.05);
                        if (rows == 12)   // with x below: products that flush to -0 (vdpbf16ps)
                            for (int i = 0; i < w.length; i++) w[i] = 1e-20f * (1 + i % 7);
                        ByteBuffer plain = weights(w, bf16), packed = weights(w, bf16);
                        float[] stored = readWeights(plain, bf16, rows * cols);
                        assertEquals(1, CpuKernels.pack(CpuKernels.address(packed), wt, rows, cols), rows + "x" + cols);
                        float[] moved = readWeights(packed, bf16, rows * cols);
                        // one 64-byte unit a row (32 bf16 columns) is its own packed form; wider rows must move
                        if (cols * (bf16 ? 2 : 4) > 64)
                            assertTrue(!java.util.Arrays.equals(stored, moved), "packing moved nothing at " + rows + "x" + cols);
                        assertArrayEquals(stored, unpacked(moved, rows, cols, bf16 ? 2 : 4), "layout " + rows + "x" + cols);
                        for (int m = 1; m <= 9; m++) {
                            float[] x = gaussian(r, m * cols, 1);
                            if (rows == 12) java.util.Arrays.fill(x, -1e-20f);
                            ByteBuffer y1 = direct(4L * m * rows), y2 = direct(4L * m * rows);
                            CpuKernels.gemv(isa, CpuKernels.address(plain), wt, floats(x), y1, m, rows, cols);
                            CpuKernels.gemv(isa, CpuKernels.address(packed), wt | CpuKernels.W_PACKED, floats(x), y2, m, rows, cols);
                            assertArrayEquals(read(y1, m * rows), read(y2, m * rows),
                                    CpuKernels.ISAS.get(isa) + (bf16 ? " bf16 " : " f32 ") + "m=" + m + " " + rows + "x" + cols);
                        }
                    }
                }
            }
        } finally {
            CpuKernels.useThreads(before);
        }
    }

    /** Shapes without a packed form (rows not a multiple of 4, columns not of a 64-byte unit) are left as they are. */
    @Test
    void shapesWithoutAPackedFormStayRowByRow() {
        int[][] shapes = {{6, 64, 0}, {8, 40, 0}, {8, 48, 1}, {0, 64, 0}};
        for (int[] s : shapes) {
            boolean bf16 = s[2] == 1;
            float[] w = gaussian(new SplittableRandom(3), Math.max(1, s[0] * s[1]), 0.05);
            ByteBuffer b = weights(w, bf16);
            float[] before = readWeights(b, bf16, w.length);
            assertEquals(0, CpuKernels.pack(CpuKernels.address(b), bf16 ? CpuKernels.W_BF16 : CpuKernels.W_F32, s[0], s[1]), s[0] + "x" + s[1]);
            assertArrayEquals(before, readWeights(b, bf16, w.length));
        }
    }

    /** The embedding gather reads a packed table's rows as the row-by-row table's. */
    @Test
    void embedReadsAPackedTable() {
        int vocab = 12, hidden = 64;
        long[] ids = {0, 5, 11, 3, 3, 7};
        for (boolean bf16 : new boolean[] {false, true}) {
            int wt = bf16 ? CpuKernels.W_BF16 : CpuKernels.W_F32;
            float[] w = gaussian(new SplittableRandom(8), vocab * hidden, 1);
            ByteBuffer plain = weights(w, bf16), packed = weights(w, bf16), idb = direct(8L * ids.length);
            assertEquals(1, CpuKernels.pack(CpuKernels.address(packed), wt, vocab, hidden));
            idb.asLongBuffer().put(ids);
            ByteBuffer y1 = direct(4L * ids.length * hidden), y2 = direct(4L * ids.length * hidden);
            assertEquals(-1, CpuKernels.embed(CpuKernels.address(plain), wt, vocab, hidden, idb, ids.length, y1, 1.5f));
            assertEquals(-1, CpuKernels.embed(CpuKernels.address(packed), wt | CpuKernels.W_PACKED, vocab, hidden, idb, ids.length, y2, 1.5f));
            float[] a = read(y1, ids.length * hidden);
            assertArrayEquals(a, read(y2, ids.length * hidden), bf16 ? "bf16" : "f32");
            assertEquals(readWeights(plain, bf16, vocab * hidden)[5 * hidden + 9] * 1.5f, a[hidden + 9]);
        }
    }

    @Test
    void theReadPassReportsAFiniteBandwidth() {
        for (int isa : variants()) {
            double b = CpuKernels.readBandwidth(isa, 64L << 20, 2);
            assertTrue(b > 1e8 && Double.isFinite(b), CpuKernels.ISAS.get(isa) + ": " + b + " bytes/s");
            ByteBuffer one = direct(24L << 20), two = direct((8L << 20) + 100);
            double w = CpuKernels.readRegions(isa, new long[] {CpuKernels.address(one), CpuKernels.address(two)}, new long[] {24L << 20, (8L << 20) + 100}, 2);
            assertTrue(w > 1e8 && Double.isFinite(w), CpuKernels.ISAS.get(isa) + " over regions: " + w + " bytes/s");
        }
    }
}
