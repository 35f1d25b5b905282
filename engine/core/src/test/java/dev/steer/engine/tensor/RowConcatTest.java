package dev.steer.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class RowConcatTest {
    /** A bf16 tensor that counts raw-bit reads (a packed weight must not narrow bf16 parts through float32). */
    static final class Bits implements HostTensor {
        final short[] bits;
        int rawReads;

        Bits(short[] bits) {
            this.bits = bits;
        }

        @Override
        public String name() {
            return "bits";
        }

        @Override
        public long[] shape() {
            return new long[] {bits.length / 3, 3};
        }

        @Override
        public String dtype() {
            return "BF16";
        }

        @Override
        public void readFloats(long offset, FloatBuffer dst) {
            while (dst.hasRemaining()) dst.put(Bf16.toFloat(bits[(int) offset++]));
        }

        @Override
        public void readBf16Bits(long offset, ShortBuffer dst) {
            rawReads++;
            dst.put(bits, (int) offset, dst.remaining());
        }
    }

    static float[] range(int from, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = from + i;
        return x;
    }

    @Test
    void stacksRowsAndReadsAcrossPartBoundaries() {
        RowConcat c = new RowConcat("qkv", List.of(new ArrayTensor("q", new long[] {4, 3}, range(0, 12)),
                new ArrayTensor("k", new long[] {2, 3}, range(12, 6)), new ArrayTensor("v", new long[] {2, 3}, range(18, 6))));
        assertArrayEquals(new long[] {8, 3}, c.shape());
        assertEquals("F32", c.dtype());
        assertArrayEquals(range(0, 24), c.toFloatArray());
        float[] mid = new float[10];
        c.readFloats(9, FloatBuffer.wrap(mid));          // q's last row, all of k, v's first element
        assertArrayEquals(range(9, 10), mid);
        ShortBuffer bits = ShortBuffer.allocate(8);
        c.readBf16Bits(10, bits);
        for (int i = 0; i < 8; i++) assertEquals(Bf16.fromFloat(10 + i), bits.get(i));
    }

    @Test
    void bf16PartsAreCopiedRaw() {
        short[] a = new short[6], b = new short[9];
        for (int i = 0; i < a.length; i++) a[i] = Bf16.fromFloat(i * 0.5f);
        for (int i = 0; i < b.length; i++) b[i] = Bf16.fromFloat(-i);
        Bits pa = new Bits(a), pb = new Bits(b);
        RowConcat c = new RowConcat("gate+up", List.of(pa, pb));
        ShortBuffer out = ShortBuffer.allocate(15);
        c.readBf16Bits(0, out);
        for (int i = 0; i < 6; i++) assertEquals(a[i], out.get(i));
        for (int i = 0; i < 9; i++) assertEquals(b[i], out.get(6 + i));
        assertEquals(1, pa.rawReads);
        assertEquals(1, pb.rawReads);
    }

    @Test
    void partsThatDoNotStackAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RowConcat("qkv",
                List.of(new ArrayTensor("q", new long[] {4, 3}, range(0, 12)), new ArrayTensor("k", new long[] {2, 4}, range(0, 8)))));
        assertTrue(e.getMessage().contains("k [2, 4] does not stack on q [4, 3]"), e.getMessage());
        RowConcat c = new RowConcat("x", List.of(new ArrayTensor("q", new long[] {1, 2}, range(0, 2))));
        assertThrows(IndexOutOfBoundsException.class, () -> c.readFloats(1, FloatBuffer.allocate(2)));
    }
}
