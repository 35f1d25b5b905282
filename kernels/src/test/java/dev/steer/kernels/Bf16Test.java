package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Bf16Test {
    private static int bits(float f) {
        return Bf16.fromFloat(f) & 0xffff;
    }

    @Test
    void exactValuesPassThrough() {
        assertEquals(0x3f80, bits(1f));
        assertEquals(0xc040, bits(-3f));
        assertEquals(0x0000, bits(0f));
        assertEquals(48f, Bf16.round(48f));   // sqrt(2304), gemma-2-2b's embedding scale
    }

    @Test
    void roundsToNearestTiesToEven() {
        // 1 + 2^-8 is halfway between 1 (0x3f80, even) and 1 + 2^-7 (0x3f81): ties go to even
        assertEquals(0x3f80, bits(1f + 0x1p-8f));
        // 1 + 3·2^-8 is halfway between 0x3f81 (odd) and 0x3f82 (even)
        assertEquals(0x3f82, bits(1f + 3 * 0x1p-8f));
        // just above halfway rounds up
        assertEquals(0x3f81, bits(Math.nextUp(1f + 0x1p-8f)));
        assertEquals(7.3125f, Bf16.round(7.3f));
    }

    @Test
    void specialValues() {
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
        assertEquals(-0f, Bf16.round(-0f));
        assertEquals(0x8000, bits(-0f));
    }
}
