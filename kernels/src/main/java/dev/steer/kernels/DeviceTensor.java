package dev.steer.kernels;

import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/**
 * A tensor in device memory: address, row-major shape, element type. Activations belong to an {@link ArenaScope}
 * (which may move them when they are kept past the scope); weights have no scope and live as long as the backend.
 */
final class DeviceTensor implements Tensor {
    final long[] shape;
    final DType dtype;
    /** Product of the shape (the shape never changes), computed once: ops ask for it several times per launch. */
    private final long elements;
    long address;
    ArenaScope scope;
    /** The bf16 copy a GEMM made of this float32 tensor, in the same scope; 0 when none. */
    long bf16Copy;
    /**
     * Where a kept tensor was moved to in its new scope's region (arena chunk, start and end offsets), so that a
     * later scope may take the space back ({@link ArenaScope#keep(Tensor, Tensor)}); chunk -1 when not moved.
     */
    int arenaChunk = -1;
    long arenaStart;
    long arenaEnd;
    /** Its memory was given to another tensor; any use is an error. */
    boolean released;

    DeviceTensor(long address, DType dtype, long[] shape, ArenaScope scope) {
        this.address = address;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.elements = elements(this.shape);
        this.scope = scope;
    }

    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    long elements() {
        return elements;
    }

    long bytes() {
        return elements() * dtype.bytes;
    }

    /** The last dimension (1 for a scalar). */
    long lastDim() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** Throws when the tensor's scope was closed: its memory may already hold another tensor. */
    DeviceTensor live(String op) {
        if (scope != null && scope.isClosed())
            throw new IllegalStateException(op + ": tensor " + this + " was used after its scope closed");
        if (released) throw new IllegalStateException(op + ": tensor " + this + " was used after its memory was given to a kept tensor");
        return this;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
