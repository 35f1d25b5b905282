package dev.steer.kernels.check;

import dev.steer.engine.tensor.HostTensor;
import java.nio.FloatBuffer;

/**
 * A checkpoint tensor made up on the fly: element i is a fixed pseudo-random value in [-amplitude, amplitude)
 * from (seed, i), so a large weight can be uploaded and checked without holding it on the host.
 */
public record SyntheticWeight(String name, long[] shape, long seed, float amplitude) implements HostTensor {
    @Override
    public String dtype() {
        return "F32";
    }

    /** Element {@code i}: splitmix64 of (seed, i), top 24 bits as a uniform value. */
    public float at(long i) {
        long z = seed * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return ((z >>> 40) / (float) (1 << 24) * 2 - 1) * amplitude;
    }

    @Override
    public void readFloats(long offset, FloatBuffer dst) {
        int n = dst.remaining();
        for (int k = 0; k < n; k++) dst.put(at(offset + k));
    }
}
