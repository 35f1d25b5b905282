package dev.steer.engine.tensor;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * A tensor that lives on the host (typically a memory-mapped checkpoint entry) and can be read as float32,
 * whatever its stored dtype. Reads go in element ranges so a tensor larger than 2 GiB (gemma-2-2b's embedding in
 * float32 is 2.36 GB) can be streamed into a backend without ever holding a second full copy on the heap.
 */
public interface HostTensor {
    /** Checkpoint name, e.g. {@code model.layers.0.mlp.up_proj.weight}. */
    String name();

    /** Shape, outermost first, as stored. */
    long[] shape();

    /** Stored element type, e.g. F32, BF16, F16. */
    String dtype();

    default long elementCount() {
        long n = 1;
        for (long d : shape()) n *= d;
        return n;
    }

    /**
     * Converts {@code dst.remaining()} elements starting at flat element index {@code offset} to float32 and puts
     * them into {@code dst}, advancing its position.
     */
    void readFloats(long offset, FloatBuffer dst);

    /**
     * Puts {@code dst.remaining()} elements from flat index {@code offset} into {@code dst} as bf16 bits (see
     * {@link Bf16}), advancing its position: how device backends upload bf16 weights without a float32 copy of the
     * tensor. This default reads float32 a chunk at a time and narrows it; a source stored as bf16 copies raw bits.
     */
    default void readBf16Bits(long offset, ShortBuffer dst) {
        float[] chunk = new float[Math.min(dst.remaining(), 4096)];
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), chunk.length);
            readFloats(offset, FloatBuffer.wrap(chunk, 0, n));
            for (int i = 0; i < n; i++) dst.put(Bf16.fromFloat(chunk[i]));
            offset += n;
        }
    }

    /** Convenience for small tensors (norm weights, vectors): the whole tensor as a float array. */
    default float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException(name() + " is too large for one array");
        float[] out = new float[(int) n];
        readFloats(0, FloatBuffer.wrap(out));
        return out;
    }
}
