package dev.steer.engine.djl;

import ai.djl.ndarray.NDArray;
import dev.steer.engine.backend.Tensor;

import java.nio.ByteBuffer;

/**
 * A {@link Tensor} backed by a DJL NDArray (PyTorch engine); {@code buffer}: its data as a direct buffer where the
 * backend already made one (the kernels' outputs at decode), else null.
 */
record DjlTensor(NDArray array, ByteBuffer buffer) implements Tensor {
    DjlTensor(NDArray array) {
        this(array, null);
    }

    @Override
    public long[] shape() {
        return array.getShape().getShape();
    }
}
