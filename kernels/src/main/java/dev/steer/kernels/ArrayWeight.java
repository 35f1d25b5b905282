package dev.steer.kernels;

import dev.steer.engine.tensor.HostTensor;
import java.nio.FloatBuffer;

/** A small host tensor over a float array (self-check and tests). */
record ArrayWeight(String name, long[] shape, float[] data) implements HostTensor {
    @Override
    public String dtype() {
        return "F32";
    }

    @Override
    public void readFloats(long offset, FloatBuffer dst) {
        dst.put(data, (int) offset, dst.remaining());
    }
}
