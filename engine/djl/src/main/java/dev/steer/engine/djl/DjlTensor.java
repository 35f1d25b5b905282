package dev.steer.engine.djl;

import ai.djl.ndarray.NDArray;
import dev.steer.engine.backend.Tensor;

/** A {@link Tensor} backed by a DJL NDArray (PyTorch engine). */
record DjlTensor(NDArray array) implements Tensor {
    @Override
    public long[] shape() {
        return array.getShape().getShape();
    }
}
