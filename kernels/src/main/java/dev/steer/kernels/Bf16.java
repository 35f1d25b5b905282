package dev.steer.kernels;

/** bfloat16 as a short holding the top 16 bits of a float32; the same rounding as {@code f32_to_bf16} in common.cuh. */
public final class Bf16 {
    private Bf16() {
    }

    /** Round to nearest, ties to even; a NaN stays a (quiet) NaN, infinities stay infinite. */
    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 0x40);
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    public static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
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
