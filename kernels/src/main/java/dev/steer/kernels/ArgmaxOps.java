package dev.steer.kernels;

import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.Tensor;

/** argmax.cu: greedy token choice, one block per row. */
final class ArgmaxOps {
    /** 32 warps: with 4 float4 loads in flight a thread, a row of 256,000 logits is about 16 waits on memory deep. */
    private static final int THREADS = 1024;

    private final Kernel argmax;
    private final Outputs outputs;

    ArgmaxOps(Kernels kernels, Outputs outputs) {
        this.argmax = kernels.get("argmax_f32");
        this.outputs = outputs;
    }

    /** Queues argmax of each row into a new int buffer of the current scope; returns its address. */
    long argmaxQueued(Tensor logits) {
        DeviceTensor x = f32(logits, "argmax", "logits");
        long v = x.lastDim();
        if (v <= 0) throw new IllegalArgumentException("argmax: logits " + x + " have no columns");
        int rows = (int) (x.elements() / v);
        long out = outputs.bytes(rows * 4L);
        argmax.ptr(x.address).ptr(out).i32((int) v).launch(rows, 1, THREADS, 0);
        return out;
    }
}
