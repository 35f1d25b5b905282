package dev.steer.kernels;

import static dev.steer.kernels.Operands.cast;
import static dev.steer.kernels.Operands.f32;
import static dev.steer.kernels.Operands.withLast;

import dev.steer.engine.backend.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Linear layers: cuBLAS, cuBLASLt or gemv.cu's kernels for decode-sized bf16 ones, as the {@link LinearPlan}
 * chooses, and the packed gate/up projection with its gelu (gemv.cu's fused form where a gemv computes it).
 */
final class LinearOps {
    /** Per gemv.cu instantiation ({@link LinearPlan#ALL}), its plain kernel and its fused gelu form (null below 2 columns). */
    private final Map<LinearPlan.Gemv, Kernel[]> gemv = new IdentityHashMap<>();
    private final LinearPlan plan;
    /** The plan times the packed gate/up projection with its gelu (else alone); see {@link KernelSettings}. */
    private final boolean geluTimed;
    private final Gpu device;
    private final Linear gemm;
    private final ElementwiseOps elementwise;
    private final Outputs outputs;

    LinearOps(Kernels kernels, Gpu device, Linear gemm, ElementwiseOps elementwise, Outputs outputs, KernelSettings settings) {
        for (LinearPlan.Gemv g : LinearPlan.ALL)
            gemv.put(g, new Kernel[] {kernels.get(g.kernel()), g.columns() >= 2 ? kernels.get(g.geluKernel()) : null});
        this.plan = settings.linearPlan(device instanceof CudaDevice);
        this.geluTimed = settings.geluTimed();
        this.device = device;
        this.gemm = gemm;
        this.elementwise = elementwise;
        this.outputs = outputs;
    }

    // gemv.cu's launch geometry: a block of W warps owns C output columns (its fused form: C / 2 gate/up pairs).

    private static int threads(LinearPlan.Gemv g) {
        return 32 * g.warps();
    }

    private static long blocks(LinearPlan.Gemv g, long n) {
        return (n + g.columns() - 1) / g.columns();
    }

    private static long geluBlocks(LinearPlan.Gemv g, long inner) {
        int pairs = g.columns() / 2;
        return (inner + pairs - 1) / pairs;
    }

    /**
     * The plan hands out the instantiations of {@link LinearPlan#ALL} themselves, so they are found by identity (a
     * record's generated equals goes through method handles); an equal copy made elsewhere by equality.
     */
    private Kernel[] kernels(LinearPlan.Gemv g) {
        Kernel[] k = gemv.get(g);
        if (k != null) return k;
        int i = LinearPlan.ALL.indexOf(g);
        if (i < 0) throw new IllegalArgumentException(g.kernel() + " is not declared in gemv.cu");
        return gemv.get(LinearPlan.ALL.get(i));
    }

    LinearPlan plan() {
        return plan;
    }

    Tensor linear(Tensor x, Tensor w) {
        DeviceTensor a = f32(x, "linear", "x");
        DeviceTensor b = cast(w, "linear");
        if (b.shape.length != 2 || b.shape[1] != a.lastDim())
            throw new IllegalArgumentException("linear: weight " + b + " is not [out, " + a.lastDim() + "] for x " + a);
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        DeviceTensor out = outputs.f32(withLast(a.shape, n));
        if (m == 0) return out;
        if (b.dtype == DType.BF16 && plan.covers(m, k)) {
            // Decode: weight streaming; x as its bf16 copy (q, k and v share one).
            long x16 = elementwise.bf16Copy(a);
            linearWith(decodeMethod(x16, b.address, out.address, (int) m, (int) n, (int) k), x16, b.address, out.address,
                    (int) m, (int) n, (int) k);
            return out;
        }
        long input = a.address;
        if (b.dtype == DType.BF16) input = elementwise.bf16Copy(a);
        else if (b.dtype != DType.F32) throw new IllegalArgumentException("linear: weight " + b + " must be float");
        gemm.linear(input, b.address, out.address, (int) m, (int) n, (int) k, b.dtype);
        return out;
    }

    /**
     * The plan's method for a decode-sized bf16 linear of this shape; the first time the shape runs eagerly the plan
     * times its candidates on these operands, writing into {@code y} ([m, n] float32; 0: a scratch one, allocated
     * only then, so a step met first during capture allocates as its replays do).
     */
    private LinearPlan.Method decodeMethod(long x16, long w16, long y, int m, int n, int k) {
        LinearPlan.Shape shape = new LinearPlan.Shape(m, n, k);
        LinearPlan.Method g = plan.chosen(shape);   // every call after a shape's first: no timing set-up
        return g != null ? g : tune(shape, () -> {
            long into = y != 0 ? y : outputs.f32(m, n).address;
            return method -> linearWith(method, x16, w16, into, m, n, k);
        });
    }

    /**
     * The plan's choice for a shape met the first time: timed by the runner {@code timing} makes (its scratch
     * allocated only then) when the step is eager; during capture, where nothing can be timed, cuBLAS.
     */
    private LinearPlan.Method tune(LinearPlan.Shape shape, Supplier<LinearPlan.Runner> timing) {
        StepGraph steps = device.steps();
        boolean eager = steps == null || steps.mode() == StepGraph.Mode.EAGER;
        return plan.choose(shape, eager, device,
                () -> gemm.ltAlgorithms(shape.m(), shape.n(), shape.k(), LinearPlan.LT_ALGORITHMS), eager ? timing.get() : null);
    }

    /**
     * geluTanh(gate) × up from the packed gate/up projection of x: where the plan computes that projection with a
     * gemv of two or more columns per block, that gemv's fused form ({@code gemv_gelu_*}) does it in one kernel,
     * without the [.., 2I] projection in memory; otherwise the linear layer, then the gelu kernel.
     */
    Tensor linearGeluPacked(Tensor x, Tensor w) {
        DeviceTensor a = f32(x, "linearGeluPacked", "x");
        DeviceTensor b = cast(w, "linearGeluPacked");
        if (b.shape.length != 2 || b.shape[1] != a.lastDim() || b.shape[0] % 2 != 0)
            throw new IllegalArgumentException("linearGeluPacked: weight " + b + " is not [2I, " + a.lastDim() + "] for x " + a);
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        if (m > 0 && b.dtype == DType.BF16 && plan.covers(m, k)) {
            long x16 = elementwise.bf16Copy(a);
            LinearPlan.Method g = geluTimed ? decodeMethodGelu(x16, b.address, (int) m, (int) n, (int) k)
                    : decodeMethod(x16, b.address, 0, (int) m, (int) n, (int) k);
            if (g instanceof LinearPlan.Gemv gv && gv.columns() >= 2) {
                DeviceTensor out = outputs.f32(withLast(a.shape, n / 2));
                geluGemv(gv, x16, b.address, out.address, outputs.withBf16Copy(out), (int) m, (int) n, (int) k);
                return out;
            }
            // the method chosen (with its gelu: not linear(), which would time the plain shape again), then the gelu
            DeviceTensor proj = outputs.f32(withLast(a.shape, n));
            linearWith(g, x16, b.address, proj.address, (int) m, (int) n, (int) k);
            return elementwise.geluTanhMulPacked(proj);
        }
        return elementwise.geluTanhMulPacked(linear(x, w));
    }

    /**
     * The plan's method for the packed gate/up projection feeding gelu_tanh(gate) × up. The first time the shape runs
     * eagerly, each candidate is timed as it would run in the step, into scratch tensors: a gemv of two or more
     * columns per block as its fused form, every other method (cuBLAS, cuBLASLt, a one-column gemv) followed by the
     * gelu kernel, so the fused form's saved launch counts (why: BENCHMARKS.md, device run 6).
     */
    private LinearPlan.Method decodeMethodGelu(long x16, long w16, int m, int n, int k) {
        LinearPlan.Shape shape = new LinearPlan.Shape(m, n, k, true);
        LinearPlan.Method g = plan.chosen(shape);
        return g != null ? g : tune(shape, () -> {
            long inner = (long) m * (n / 2);
            long proj = outputs.f32(m, n).address, out = outputs.f32(m, n / 2).address;
            long out16 = outputs.bf16Scratch(inner);
            return method -> {
                if (method instanceof LinearPlan.Gemv gv && gv.columns() >= 2) {
                    geluGemv(gv, x16, w16, out, out16, m, n, k);
                } else {
                    linearWith(method, x16, w16, proj, m, n, k);
                    elementwise.geluTanhMulPacked(proj, out, out16, n / 2, inner);
                }
            };
        });
    }

    /** A gemv's fused gate/up form: gelu_tanh(gate) × up of x16 · w16ᵀ into {@code out} (and its bf16 copy). */
    private void geluGemv(LinearPlan.Gemv gv, long x16, long w16, long out, long out16, int m, int n, int k) {
        kernels(gv)[1].ptr(x16).ptr(w16).ptr(out).ptr(out16).i32(m).i32(n).i32(k).launch(geluBlocks(gv, n / 2), 1, threads(gv), 0);
    }

    /** {@code y = x16 · w16ᵀ} (bf16 operands) by {@code method}. */
    private void linearWith(LinearPlan.Method method, long x16, long w16, long y, int m, int n, int k) {
        if (method instanceof LinearPlan.Gemv g)
            kernels(g)[0].ptr(x16).ptr(w16).ptr(y).i32(m).i32(n).i32(k).launch(blocks(g, n), 1, threads(g), 0);
        else if (method instanceof LinearPlan.Lt lt) gemm.linearLt(lt, x16, w16, y, m, n, k);
        else gemm.linear(x16, w16, y, m, n, k, DType.BF16);
    }

    /** cuBLASLt's algorithms for a bf16 linear of this shape (for the self-check). */
    List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k) {
        return gemm.ltAlgorithms(m, n, k, LinearPlan.LT_ALGORITHMS);
    }

    /** {@code x · wᵀ} by {@code method}, whatever the plan would choose (for the self-check); w must be bf16. */
    Tensor linearBy(Tensor x, Tensor w, LinearPlan.Method method) {
        DeviceTensor a = f32(x, "linearBy", "x");
        DeviceTensor b = cast(w, "linearBy");
        if (b.dtype != DType.BF16 || b.shape.length != 2 || b.shape[1] != a.lastDim())
            throw new IllegalArgumentException("linearBy: weight " + b + " is not bf16 [out, " + a.lastDim() + "]");
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        DeviceTensor out = outputs.f32(withLast(a.shape, n));
        linearWith(method, elementwise.bf16Copy(a), b.address, out.address, (int) m, (int) n, (int) k);
        return out;
    }
}
