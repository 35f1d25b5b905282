package dev.steer.kernels;

import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/** rmsnorm.cu: one block per row. */
final class RmsNormOps {
    /** Block size: rows of up to 4 × ROW_CHUNKS (common.cuh) × 256 = 4,096 features take the register path. */
    private static final int THREADS = 256;

    private final Kernel rmsNorm;
    private final Kernel addRmsNorm;
    private final Outputs outputs;

    RmsNormOps(Kernels kernels, Outputs outputs) {
        this.rmsNorm = kernels.get("rmsnorm_f32");
        this.addRmsNorm = kernels.get("add_rmsnorm_f32");
        this.outputs = outputs;
    }

    Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        DeviceTensor a = f32(x, "rmsNorm", "x");
        DeviceTensor b = f32(w, "rmsNorm", "w");
        long n = a.lastDim();
        if (b.elements() != n) throw new IllegalArgumentException("rmsNorm: w " + b + " does not match x " + a);
        DeviceTensor out = outputs.f32(a.shape);
        long out16 = outputs.withBf16Copy(out);
        rmsNorm.ptr(a.address).ptr(b.address).ptr(out.address).ptr(out16).i32((int) n).f32(eps)
                .launch(a.elements() / Math.max(1, n), 1, THREADS, 0);
        return out;
    }

    /** {h + rmsNorm(x, wPost), rmsNorm(that, wPre)} in one pass per row ({@code add_rmsnorm_f32}). */
    Tensor[] addRmsNorm(Tensor h, Tensor x, Tensor wPost, Tensor wPre, float eps) {
        DeviceTensor r = f32(h, "addRmsNorm", "h"), a = f32(x, "addRmsNorm", "x");
        DeviceTensor post = f32(wPost, "addRmsNorm", "wPost"), pre = f32(wPre, "addRmsNorm", "wPre");
        long n = a.lastDim();
        if (!Arrays.equals(r.shape, a.shape)) throw new IllegalArgumentException("addRmsNorm: h " + r + " and x " + a + " differ");
        if (post.elements() != n || pre.elements() != n)
            throw new IllegalArgumentException("addRmsNorm: norm weights " + post + ", " + pre + " do not match x " + a);
        DeviceTensor res = outputs.f32(a.shape), norm = outputs.f32(a.shape);
        long norm16 = outputs.withBf16Copy(norm);
        addRmsNorm.ptr(r.address).ptr(a.address).ptr(post.address).ptr(pre.address).ptr(res.address)
                .ptr(norm.address).ptr(norm16).i32((int) n).f32(eps)
                .launch(a.elements() / Math.max(1, n), 1, THREADS, 0);
        return new Tensor[] {res, norm};
    }
}
