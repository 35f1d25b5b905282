package dev.steer.kernels;

import dev.steer.engine.backend.Tensor;

/** The input checks every op family makes: a live tensor of this backend, float32 where activations must be. */
final class Operands {
    private Operands() {
    }

    static DeviceTensor cast(Tensor t, String op) {
        if (!(t instanceof DeviceTensor d)) throw new IllegalArgumentException(op + ": " + t + " is not a CUDA tensor");
        return d.live(op);
    }

    static DeviceTensor f32(Tensor t, String op, String what) {
        DeviceTensor d = cast(t, op);
        if (d.dtype != DType.F32) throw new IllegalArgumentException(op + ": " + what + " " + d + " must be float32");
        return d;
    }

    /** {@code shape} with its last dimension replaced by {@code last}. */
    static long[] withLast(long[] shape, long last) {
        long[] s = shape.length == 0 ? new long[1] : shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    /** Rows of a [.., vocab] logits tensor. */
    static int rows(Tensor logits) {
        DeviceTensor x = cast(logits, "rows");
        return (int) (x.elements() / Math.max(1, x.lastDim()));
    }
}
