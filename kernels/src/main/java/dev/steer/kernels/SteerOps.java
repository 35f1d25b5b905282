package dev.steer.kernels;

import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/** steer.cu: the steering hook, one block per (row, position). */
final class SteerOps {
    private static final int THREADS = 256;

    private final Kernel steer;
    private final Outputs outputs;

    SteerOps(Kernels kernels, Outputs outputs) {
        this.steer = kernels.get("steer_f32");
        this.outputs = outputs;
    }

    /** {@code update} null: the hook on h itself; else on {@code h + update}, added in the same pass. */
    SteerResult steer(Tensor h, Tensor update, Tensor delta, Tensor mask, boolean norms) {
        DeviceTensor x = f32(h, "steer", "h");
        if (x.shape.length != 3) throw new IllegalArgumentException("steer: h " + x + " must be [B, T, H]");
        long b = x.shape[0], t = x.shape[1], hidden = x.shape[2];
        DeviceTensor u = null, d = null, m = null, out = null, n = null;
        if (update != null) {
            u = f32(update, "steer", "update");
            if (!Arrays.equals(u.shape, x.shape)) throw new IllegalArgumentException("steer: update " + u + " does not match h " + x);
            out = outputs.f32(x.shape);
        }
        if (delta != null) {
            d = f32(delta, "steer", "delta");
            m = f32(mask, "steer", "mask");
            if (!Arrays.equals(d.shape, new long[] {b, hidden})) throw new IllegalArgumentException("steer: delta " + d + " is not [" + b + ", " + hidden + "]");
            if (!Arrays.equals(m.shape, new long[] {b, t})) throw new IllegalArgumentException("steer: mask " + m + " is not [" + b + ", " + t + "]");
            if (out == null) out = outputs.f32(x.shape);
        }
        if (norms) n = outputs.f32(b, t);
        if (out == null && n == null) return new SteerResult(x, null);
        steer.ptr(x.address).ptr(u == null ? 0 : u.address).ptr(d == null ? 0 : d.address).ptr(m == null ? 0 : m.address)
                .ptr(out == null ? 0 : out.address).ptr(n == null ? 0 : n.address).i32((int) t).i32((int) hidden)
                .launch(b * t, 1, THREADS, 0);
        return new SteerResult(out == null ? x : out, n);
    }
}
