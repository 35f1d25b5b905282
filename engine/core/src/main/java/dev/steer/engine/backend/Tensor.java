package dev.steer.engine.backend;

/**
 * A tensor that lives in a {@link Backend} (host memory for DJL, device memory for CUDA). Row-major, float
 * compute unless created by {@link Backend#ints}. A tensor belongs to the {@link Scope} that was current when it
 * was made and is released with it; weights and KV caches belong to the backend or cache that made them.
 */
public interface Tensor {
    /** Shape, outermost first. */
    long[] shape();

    default long dim(int i) {
        long[] s = shape();
        return s[i < 0 ? s.length + i : i];
    }
}
