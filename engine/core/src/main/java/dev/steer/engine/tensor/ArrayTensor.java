package dev.steer.engine.tensor;

import java.nio.FloatBuffer;

/** A small float32 host tensor over an array (checks, tests, and weights built in memory). */
public record ArrayTensor(String name, long[] shape, float[] data) implements HostTensor {
    @Override
    public String dtype() {
        return "F32";
    }

    @Override
    public void readFloats(long offset, FloatBuffer dst) {
        dst.put(data, (int) offset, dst.remaining());
    }
}
