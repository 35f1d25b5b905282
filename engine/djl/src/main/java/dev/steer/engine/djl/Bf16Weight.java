package dev.steer.engine.djl;

import ai.djl.pytorch.jni.IValue;
import dev.steer.engine.backend.Tensor;

/**
 * A weight matrix kept as bf16 inside libtorch (see {@link Bf16Ops}: DJL itself cannot hold a bf16 NDArray), and the
 * address of its first element for {@link CpuKernels} (0 without them).
 */
record Bf16Weight(IValue value, long[] shape, long address) implements Tensor {
    @Override
    public long[] shape() {
        return shape.clone();
    }
}
