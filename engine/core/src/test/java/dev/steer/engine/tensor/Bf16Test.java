package dev.steer.engine.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bf16 conversions: one implementation for checkpoint reading (models) and device upload (kernels). */
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

    private static short narrow(int floatBits) {
        return Bf16.fromFloat(Float.intBitsToFloat(floatBits));
    }

    @Test
    void widensTheTopHalfOfAFloat32() {
        assertEquals(-0.267578125f, Bf16.toFloat((short) 0xBE89));
        assertEquals(1.0f, Bf16.toFloat((short) 0x3F80));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.toFloat((short) 0xFF80));
    }

    @Test
    void narrowsWithRoundToNearestEven() {
        assertEquals((short) 0x3F80, narrow(0x3F800000)); // exact
        assertEquals((short) 0x3F80, narrow(0x3F807FFF)); // below half: down
        assertEquals((short) 0x3F81, narrow(0x3F808001)); // above half: up
        assertEquals((short) 0x3F80, narrow(0x3F808000)); // tie, even below: stays
        assertEquals((short) 0x3F82, narrow(0x3F818000)); // tie, odd below: up to even
        assertEquals((short) 0xBF82, narrow(0xBF818000)); // sign does not change the rule
        assertEquals((short) 0x7F80, narrow(0x7F7FFFFF)); // max float rounds past bf16's max: +inf
        assertEquals((short) 0x0001, narrow(0x00010000)); // subnormals are kept
    }

    @Test
    void nanStaysNan() {
        short bits = Bf16.fromFloat(Float.intBitsToFloat(0x7F800001)); // signalling NaN whose payload is in the low half
        assertTrue(Float.isNaN(Bf16.toFloat(bits)));
        assertEquals((short) 0xFFC0, Bf16.fromFloat(Float.intBitsToFloat(0xFFC00000)));
    }
}
