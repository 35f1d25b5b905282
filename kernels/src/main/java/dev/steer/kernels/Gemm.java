package dev.steer.kernels;

import static dev.steer.kernels.CudaException.checkBlas;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetWorkspace_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

import static org.bytedeco.cuda.global.cublas.CUBLASLT_ALGO_CONFIG_ID;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_ALGO_CONFIG_TILE_ID;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSA;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_DESC_TRANSB;
import static org.bytedeco.cuda.global.cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES;
import static org.bytedeco.cuda.global.cublas.cublasLtCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmul;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulAlgoConfigGetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulAlgoGetHeuristic;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulDescSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceDestroy;
import static org.bytedeco.cuda.global.cublas.cublasLtMatmulPreferenceSetAttribute;
import static org.bytedeco.cuda.global.cublas.cublasLtMatrixLayoutCreate;
import static org.bytedeco.cuda.global.cublas.cublasLtMatrixLayoutDestroy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * {@code y = x · wᵀ} with cuBLAS, row-major: x [M, K], w [N, K] (Hugging Face's [out, in]), y [M, N] float32.
 * cuBLAS is column-major, where row-major y is yᵀ [N, M]; so it computes {@code yᵀ = w · xᵀ}: A = w read
 * transposed (lda = K), B = x as stored (ldb = K), C = y (ldc = N). Accumulation is float32 (CUBLAS_COMPUTE_32F)
 * for both bf16 and float32 inputs; with the default math mode float32 GEMMs do not use TF32.
 *
 * <p>For {@link LinearPlan}, the same product with bf16 inputs through cuBLASLt with an algorithm of its heuristic's
 * list ({@link #ltAlgorithms}), sharing the workspace: same layouts (A = w transposed, B = x, C = D = y).
 */
final class Gemm implements Linear {
    private final cublasContext handle = new cublasContext();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private final CudaDevice device;
    /** A fixed cuBLAS workspace: a GEMM captured into a CUDA graph must not allocate one itself. */
    private final long workspace;
    private static final long WORKSPACE_BYTES = 32L << 20;
    /** Null unless profiling (STEER_CUDA_PROFILE=1). */
    private final OpProfile profile;

    Gemm(CudaDevice device, OpProfile profile) {
        this.device = device;
        this.profile = profile;
        checkBlas(cublasCreate_v2(handle), "cublasCreate_v2");
        checkBlas(cublasSetStream_v2(handle, device.stream), "cublasSetStream_v2");
        workspace = device.allocate(WORKSPACE_BYTES);
        checkBlas(cublasSetWorkspace_v2(handle, new DeviceAddress(workspace), WORKSPACE_BYTES), "cublasSetWorkspace_v2");
    }

    /**
     * A recorded product (see {@link StepGraph}): cuBLAS's default GEMM ({@code lt} -1) or cuBLASLt's algorithm
     * {@code lt} for the shape (bf16 inputs).
     */
    record Call(Gemm gemm, int lt, long x, long w, long y, int m, int n, int k, DType inputs) implements StepGraph.Work {
        @Override
        public void run() {
            if (lt < 0) gemm.launch(x, w, y, m, n, k, inputs);
            else gemm.launchLt(lt, x, w, y, m, n, k);
        }

        /** Written out (a record's generated equals goes through method handles): compared for every replayed step. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Call c && c.lt == lt && c.x == x && c.w == w && c.y == y && c.m == m && c.n == n && c.k == k
                    && c.inputs == inputs && c.gemm == gemm;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(x * 31 + w) * 31 + m * 17 + n + lt;
        }
    }

    @Override
    public void linear(long x, long w, long y, int m, int n, int k, DType inputs) {
        record(new Call(this, -1, x, w, y, m, n, k, inputs));
    }

    /** Runs {@code c} now, or only records it in a replayed step (launched with the graph). */
    private void record(Call c) {
        if (device.steps.mode() != StepGraph.Mode.EAGER && !device.steps.admit(c)) return;
        c.run();
    }

    private void launch(long x, long w, long y, int m, int n, int k, DType inputs) {
        if (profile != null && device.steps.mode() == StepGraph.Mode.EAGER) {
            profile.begin(device.stream);
            gemmEx(x, w, y, m, n, k, inputs);
            profile.end(device.stream, "cublasGemmEx " + inputs + " m" + (m <= 8 ? "<=8" : m <= 64 ? "<=64" : ">64") + " n" + n + " k" + k);
            return;
        }
        gemmEx(x, w, y, m, n, k, inputs);
    }

    private void gemmEx(long x, long w, long y, int m, int n, int k, DType inputs) {
        int type = inputs == DType.BF16 ? CUDA_R_16BF : CUDA_R_32F;
        checkBlas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, one,
                new DeviceAddress(w), type, k,
                new DeviceAddress(x), type, k, zero,
                new DeviceAddress(y), CUDA_R_32F, n,
                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), "cublasGemmEx(" + inputs + ", m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    /** cuBLASLt, created on first use; null until then. A failure to create it leaves the plan without its algorithms. */
    private cublasLtContext lt;
    private boolean ltUnavailable;
    private final Map<LinearPlan.Shape, LtShape> ltShapes = new HashMap<>();

    /** One shape's cuBLASLt descriptors and heuristic results (kept alive: the algorithms point into them). */
    private static final class LtShape {
        cublasLtMatmulDescOpaque_t desc;
        cublasLtMatrixLayoutOpaque_t a, b, c;
        cublasLtMatmulHeuristicResult_t results;
        List<LinearPlan.Lt> algorithms = List.of();
    }

    @Override
    public List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k, int max) {
        LtShape s = ltShape(m, n, k, max);
        return s == null ? List.of() : s.algorithms;
    }

    @Override
    public void linearLt(LinearPlan.Lt algorithm, long x, long w, long y, int m, int n, int k) {
        LtShape s = ltShapes.get(new LinearPlan.Shape(m, n, k));
        if (s == null || algorithm.index() >= s.algorithms.size())
            throw new IllegalStateException("cuBLASLt: no algorithm " + algorithm + " for m" + m + " n" + n + " k" + k);
        record(new Call(this, algorithm.index(), x, w, y, m, n, k, DType.BF16));
    }

    /** The shape's descriptors and up to {@code max} algorithms; null when cuBLASLt is not usable here. */
    private LtShape ltShape(int m, int n, int k, int max) {
        LtShape s = ltShapes.get(new LinearPlan.Shape(m, n, k));
        if (s != null || ltUnavailable) return s;
        try {
            if (lt == null) {
                cublasLtContext h = new cublasLtContext();
                checkBlas(cublasLtCreate(h), "cublasLtCreate");
                lt = h;
            }
            s = new LtShape();
            try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
                checkBlas(cublasLtMatmulDescCreate(out, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
                s.desc = new cublasLtMatmulDescOpaque_t(out.get(0));
                try (IntPointer t = new IntPointer(1); IntPointer nOp = new IntPointer(1)) {
                    t.put(0, CUBLAS_OP_T);
                    nOp.put(0, CUBLAS_OP_N);
                    checkBlas(cublasLtMatmulDescSetAttribute(s.desc, CUBLASLT_MATMUL_DESC_TRANSA, t, 4), "cublasLtMatmulDescSetAttribute(TRANSA)");
                    checkBlas(cublasLtMatmulDescSetAttribute(s.desc, CUBLASLT_MATMUL_DESC_TRANSB, nOp, 4), "cublasLtMatmulDescSetAttribute(TRANSB)");
                }
                // column-major: A = w as stored [k x n] (ld k, used transposed), B = x [k x m] (ld k), C = D = y [n x m] (ld n)
                checkBlas(cublasLtMatrixLayoutCreate(out, CUDA_R_16BF, k, n, k), "cublasLtMatrixLayoutCreate(A)");
                s.a = new cublasLtMatrixLayoutOpaque_t(out.get(0));
                checkBlas(cublasLtMatrixLayoutCreate(out, CUDA_R_16BF, k, m, k), "cublasLtMatrixLayoutCreate(B)");
                s.b = new cublasLtMatrixLayoutOpaque_t(out.get(0));
                checkBlas(cublasLtMatrixLayoutCreate(out, CUDA_R_32F, n, m, n), "cublasLtMatrixLayoutCreate(C)");
                s.c = new cublasLtMatrixLayoutOpaque_t(out.get(0));
                checkBlas(cublasLtMatmulPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
                cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(out.get(0));
                try (LongPointer bytes = new LongPointer(1)) {
                    bytes.put(0, WORKSPACE_BYTES);
                    checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, bytes, 8),
                            "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
                    s.results = new cublasLtMatmulHeuristicResult_t(Math.max(1, max));
                    int[] returned = new int[1];
                    checkBlas(cublasLtMatmulAlgoGetHeuristic(lt, s.desc, s.a, s.b, s.c, s.c, pref, Math.max(1, max), s.results, returned),
                            "cublasLtMatmulAlgoGetHeuristic(m" + m + " n" + n + " k" + k + ")");
                    List<LinearPlan.Lt> algorithms = new ArrayList<>();
                    for (int i = 0; i < Math.min(returned[0], max); i++) {
                        cublasLtMatmulHeuristicResult_t r = s.results.getPointer(i);
                        if (r.state() != 0 || r.workspaceSize() > WORKSPACE_BYTES) continue;
                        algorithms.add(new LinearPlan.Lt(i, describe(r) + String.format(" (waves %.2f)", r.wavesCount())));
                    }
                    s.algorithms = List.copyOf(algorithms);
                } finally {
                    cublasLtMatmulPreferenceDestroy(pref);
                }
            }
            ltShapes.put(new LinearPlan.Shape(m, n, k), s);
            return s;
        } catch (RuntimeException | LinkageError e) {
            // No usable cuBLASLt (or no algorithm for this shape): the plan times cuBLAS and the gemv kernels alone.
            System.err.println("steer: cuBLASLt not used for m" + m + " n" + n + " k" + k + ": " + e.getMessage());
            if (lt == null) ltUnavailable = true;
            return null;
        }
    }

    /** The algorithm's id, tile and split-k, as cuBLASLt reports them. */
    private static String describe(cublasLtMatmulHeuristicResult_t r) {
        StringBuilder sb = new StringBuilder();
        int[][] attrs = {{CUBLASLT_ALGO_CONFIG_ID}, {CUBLASLT_ALGO_CONFIG_TILE_ID}, {CUBLASLT_ALGO_CONFIG_SPLITK_NUM}};
        String[] names = {"id", "tile", "splitk"};
        try (IntPointer v = new IntPointer(1); org.bytedeco.javacpp.SizeTPointer written = new org.bytedeco.javacpp.SizeTPointer(1)) {
            for (int i = 0; i < attrs.length; i++) {
                v.put(0, 0);
                int rc = cublasLtMatmulAlgoConfigGetAttribute(r.algo(), attrs[i][0], v, 4, written);
                if (sb.length() > 0) sb.append(' ');
                sb.append(names[i]).append(' ').append(rc == 0 ? Integer.toString(v.get(0)) : "?");
            }
        }
        return sb.toString();
    }

    private void launchLt(int index, long x, long w, long y, int m, int n, int k) {
        LtShape s = ltShapes.get(new LinearPlan.Shape(m, n, k));
        checkBlas(cublasLtMatmul(lt, s.desc, one, new DeviceAddress(w), s.a, new DeviceAddress(x), s.b, zero,
                new DeviceAddress(y), s.c, new DeviceAddress(y), s.c, s.results.getPointer(index).algo(),
                new DeviceAddress(workspace), WORKSPACE_BYTES, device.stream), "cublasLtMatmul(algorithm " + index + ", m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    @Override
    public void close() {
        for (LtShape s : ltShapes.values()) {
            cublasLtMatrixLayoutDestroy(s.a);
            cublasLtMatrixLayoutDestroy(s.b);
            cublasLtMatrixLayoutDestroy(s.c);
            cublasLtMatmulDescDestroy(s.desc);
            s.results.close();
        }
        ltShapes.clear();
        if (lt != null) cublasLtDestroy(lt);
        cublasDestroy_v2(handle);
        device.free(workspace);
        one.close();
        zero.close();
    }
}
