package dev.steer.engine.tensor;

/**
 * bfloat16, carried as a {@code short} holding the top 16 bits of a float32 (same sign and 8-bit exponent, 7-bit
 * mantissa). Narrowing rounds to nearest, ties to even, as PyTorch's {@code to(torch.bfloat16)} and the CUDA
 * kernels' {@code f32_to_bf16} (common.cuh) do; values past bf16's range round to infinity; a NaN stays a (quiet)
 * NaN of the same sign.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** Exact widening: bf16 bits to the float32 they denote. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest, ties to even. */
    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 0x40);
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    /** {@code f} rounded to the nearest bf16 value. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }

    public static float[] round(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = round(x[i]);
        return out;
    }
}
