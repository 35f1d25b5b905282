package dev.steer.kernels;

/** Element type of a device tensor; bf16 is the top half of an IEEE float32 (see {@link dev.steer.engine.tensor.Bf16}). */
enum DType {
    F32(4), BF16(2), I32(4);

    final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }
}
