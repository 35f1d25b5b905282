package dev.steer.models.hf;

import dev.steer.engine.tensor.HostTensor;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * bfloat16 conversions. A bf16 value is the top 16 bits of a float32 (same sign and 8-bit exponent, 7-bit
 * mantissa), carried here as the raw bits in a {@code short}.
 */
public final class Bf16 {
    private Bf16() {}

    /** Exact widening: bf16 bits to the float32 they denote. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * Narrowing with round-to-nearest-even, as PyTorch's {@code tensor.to(torch.bfloat16)} does, so weights uploaded
     * from a float32 checkpoint match what the reference computes with. Values past bf16's range round to ±infinity;
     * NaN stays a (quiet) NaN of the same sign.
     */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x0040);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /**
     * Puts {@code dst.remaining()} elements of {@code tensor}, from flat index {@code offset}, into {@code dst} as bf16
     * bits. BF16 safetensors entries are copied raw; anything else is read as float32 and narrowed with
     * {@link #fromFloat}, a chunk at a time, so no full float32 copy is ever made.
     */
    public static void readBits(HostTensor tensor, long offset, ShortBuffer dst) {
        if (tensor instanceof SafetensorsTensor s && s.dtype().equals("BF16")) {
            s.readBf16Bits(offset, dst);
            return;
        }
        float[] chunk = new float[(int) Math.min(dst.remaining(), 4096)];
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), chunk.length);
            tensor.readFloats(offset, FloatBuffer.wrap(chunk, 0, n));
            for (int i = 0; i < n; i++) dst.put(fromFloat(chunk[i]));
            offset += n;
        }
    }
}
