package dev.steer.kernels;

import static dev.steer.kernels.Operands.f32;
import static dev.steer.kernels.Operands.withLast;

import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/** elementwise.cu: the adds and activations, the bf16 rounding of GEMM inputs, and the last step of each row. */
final class ElementwiseOps {
    /** elementwise.cu's GRID_STRIDE kernels: blocks of 256 threads, at most 65,536 blocks striding over n. */
    private static final int THREADS = 256;
    private static final long MAX_BLOCKS = 1L << 16;
    /** last_step_f32: one block per batch row. */
    private static final int LAST_STEP_THREADS = 256;

    private final Kernel add;
    private final Kernel geluTanhMul;
    private final Kernel geluTanhMulPacked;
    private final Kernel softcap;
    private final Kernel toBf16;
    private final Kernel lastStep;
    private final Outputs outputs;

    ElementwiseOps(Kernels kernels, Outputs outputs) {
        this.add = kernels.get("add_f32");
        this.geluTanhMul = kernels.get("gelu_tanh_mul_f32");
        this.geluTanhMulPacked = kernels.get("gelu_tanh_mul_packed_f32");
        this.softcap = kernels.get("softcap_f32");
        this.toBf16 = kernels.get("to_bf16");
        this.lastStep = kernels.get("last_step_f32");
        this.outputs = outputs;
    }

    private static int blocks(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, MAX_BLOCKS));
    }

    Tensor add(Tensor a, Tensor b) {
        return binary(add, a, b);
    }

    /** Also writes the bf16 copy (the down projection's input). */
    Tensor geluTanhMul(Tensor gate, Tensor up) {
        return binary(geluTanhMul, gate, up);
    }

    private Tensor binary(Kernel kernel, Tensor x, Tensor y) {
        DeviceTensor a = f32(x, kernel.name, "input"), b = f32(y, kernel.name, "input");
        DeviceTensor out = outputs.f32(a.shape);
        long n = a.elements();
        if (!Arrays.equals(a.shape, b.shape)) throw new IllegalArgumentException(kernel.name + ": shapes " + a + " and " + b + " differ");
        kernel.ptr(a.address).ptr(b.address).ptr(out.address);
        if (kernel == geluTanhMul) kernel.ptr(outputs.withBf16Copy(out));
        kernel.i64(n).launch(blocks(n), 1, THREADS, 0);
        return out;
    }

    Tensor softcap(Tensor x, float cap) {
        DeviceTensor a = f32(x, softcap.name, "input");
        DeviceTensor out = outputs.f32(a.shape);
        long n = a.elements();
        softcap.ptr(a.address).ptr(out.address).i64(n).f32(cap).launch(blocks(n), 1, THREADS, 0);
        return out;
    }

    /** Packed [.., 2I] → gelu_tanh(gate) × up [.., I] (and its bf16 copy for the down projection). */
    Tensor geluTanhMulPacked(Tensor gateUp) {
        DeviceTensor a = f32(gateUp, "geluTanhMulPacked", "gateUp");
        long two = a.lastDim();
        if (two % 2 != 0) throw new IllegalArgumentException("geluTanhMulPacked: " + a + " has an odd last dimension");
        DeviceTensor out = outputs.f32(withLast(a.shape, two / 2));
        geluTanhMulPacked(a.address, out.address, outputs.withBf16Copy(out), two / 2, out.elements());
        return out;
    }

    /** The same on buffers: {@code n} outputs, {@code inner} a row ({@code out16} 0: no bf16 copy). */
    void geluTanhMulPacked(long gateUp, long out, long out16, long inner, long n) {
        geluTanhMulPacked.ptr(gateUp).ptr(out).ptr(out16).i64(inner).i64(n).launch(blocks(n), 1, THREADS, 0);
    }

    /** x rounded to bf16 for a bf16 GEMM; remembered while x's scope is current (q, k, v share one copy). */
    long bf16Copy(DeviceTensor x) {
        Arena arena = outputs.arena;
        if (x.bf16Copy != 0 && x.scope == arena.current()) return x.bf16Copy;
        long n = x.elements();
        long copy = arena.allocate(n * 2);
        toBf16.ptr(x.address).ptr(copy).i64(n).launch(blocks(n), 1, THREADS, 0);
        if (x.scope == arena.current()) x.bf16Copy = copy;
        return copy;
    }

    Tensor lastStep(Tensor x) {
        DeviceTensor a = f32(x, "lastStep", "x");
        if (a.shape.length != 3) throw new IllegalArgumentException("lastStep: x " + a + " must be [B, T, F]");
        // One step (decode): the same memory read as [B, F], no copy; it lives and dies with x's scope, and x's bf16
        // copy (same layout) serves it too, so the GEMM that reads it next (lm_head) converts nothing.
        if (a.shape[1] == 1) {
            DeviceTensor view = new DeviceTensor(a.address, DType.F32, new long[] {a.shape[0], a.shape[2]}, a.scope);
            view.bf16Copy = a.bf16Copy;
            return view;
        }
        DeviceTensor out = outputs.f32(a.shape[0], a.shape[2]);
        lastStep.ptr(a.address).ptr(out.address).i32((int) a.shape[1]).i32((int) a.shape[2])
                .launch(a.shape[1] == 0 ? 0 : a.shape[0], 1, LAST_STEP_THREADS, 0);
        return out;
    }
}
