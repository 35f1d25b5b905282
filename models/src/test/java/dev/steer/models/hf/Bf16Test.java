package dev.steer.models.hf;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Bf16Test {
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
