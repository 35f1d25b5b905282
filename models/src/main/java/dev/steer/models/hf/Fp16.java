package dev.steer.models.hf;

/**
 * IEEE 754 half precision (F16) to float32. {@code Float.float16ToFloat} exists only from Java 20; steer targets 17.
 * Half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 */
public final class Fp16 {
    private Fp16() {}

    /** Exact widening of the half-precision value with bits {@code bits}. */
    public static float toFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        if (exponent == 0) {
            // Zero or subnormal: mantissa × 2^-24, exactly representable in float32.
            float magnitude = mantissa * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        // Rebias the exponent from 15 to 127.
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
