package dev.steer.models.hf;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values from Python's {@code struct.unpack('<e', ...)}. */
class Fp16Test {
    private static float f(int bits) {
        return Fp16.toFloat((short) bits);
    }

    @Test
    void normalValues() {
        assertEquals(1.0f, f(0x3C00));
        assertEquals(-2.5f, f(0xC100));
        assertEquals(65504.0f, f(0x7BFF));
        assertEquals(0.333251953125f, f(0x3555));
        assertEquals(6.103515625e-05f, f(0x0400)); // smallest normal, 2^-14
    }

    @Test
    void zerosSubnormalsAndSpecials() {
        assertEquals(5.960464477539063e-08f, f(0x0001)); // 2^-24
        assertEquals(6.097555160522461e-05f, f(0x03FF)); // largest subnormal
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(f(0x8000)));
        assertEquals(Float.POSITIVE_INFINITY, f(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, f(0xFC00));
        assertTrue(Float.isNaN(f(0x7E00)));
    }
}
