package dev.steer.models.hf;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The word-at-a-time scan against the plain definition (exponent all ones), for every dtype, every lane of a word
 * and the tail after the last whole word, with the values around the edge: the largest finite, the smallest
 * subnormal, negative zero, negative infinity and a NaN with payload bits only in the low mantissa.
 */
class NonFiniteScanTest {
    @Test
    void float32() {
        int[] finite = {0, 0x80000000, 0x7f7fffff, 0xff7fffff, 0x00000001, 0x3f800000};
        int[] bad = {0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffffffff};
        for (int n = 1; n <= 11; n++)
            for (int at = 0; at < n; at++)
                for (int b : bad) {
                    ByteBuffer buf = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) buf.putInt(i * 4, i == at ? b : finite[i % finite.length]);
                    assertEquals(at, NonFiniteScan.first(buf, StoredDtype.F32), "n=" + n + " at=" + at + " bits=" + Integer.toHexString(b));
                }
        ByteBuffer ok = ByteBuffer.allocate(6 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) ok.putInt(i * 4, finite[i]);
        assertEquals(-1, NonFiniteScan.first(ok, StoredDtype.F32));
    }

    @Test
    void halvesAndDoubles() {
        check(StoredDtype.BF16, new long[] {0, 0x8000, 0x7f7f, 0xff7f, 0x0001, 0x3f80}, new long[] {0x7f80, 0xff80, 0x7fc0, 0x7f81});
        check(StoredDtype.F16, new long[] {0, 0x8000, 0x7bff, 0xfbff, 0x0001, 0x3c00, 0x7f80 & 0x3fff}, new long[] {0x7c00, 0xfc00, 0x7e00, 0x7c01});
        check(StoredDtype.F64, new long[] {0, Long.MIN_VALUE, 0x7fefffffffffffffL, 1, Double.doubleToLongBits(1.0)},
                new long[] {0x7ff0000000000000L, 0xfff0000000000000L, 0x7ff8000000000000L, 0x7ff0000000000001L});
        ByteBuffer ints = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L).putLong(8, 0x7ff0000000000000L);
        assertEquals(-1, NonFiniteScan.first(ints, StoredDtype.I64), "integers are always finite");
    }

    private static void check(StoredDtype dtype, long[] finite, long[] bad) {
        int w = dtype.bytes;
        for (int n = 1; n <= 19; n++) {
            for (int at = -1; at < n; at++) {
                for (long b : bad) {
                    ByteBuffer buf = ByteBuffer.allocate(n * w).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) put(buf, i, w, i == at ? b : finite[i % finite.length]);
                    assertEquals(at, NonFiniteScan.first(buf, dtype), dtype + " n=" + n + " at=" + at + " bits=" + Long.toHexString(b));
                }
            }
        }
    }

    private static void put(ByteBuffer buf, int i, int width, long bits) {
        if (width == 2) buf.putShort(i * 2, (short) bits);
        else buf.putLong(i * 8, bits);
    }
}
