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

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;

/**
 * {@code y = x · wᵀ} with cuBLAS, row-major: x [M, K], w [N, K] (Hugging Face's [out, in]), y [M, N] float32.
 * cuBLAS is column-major, where row-major y is yᵀ [N, M]; so it computes {@code yᵀ = w · xᵀ}: A = w read
 * transposed (lda = K), B = x as stored (ldb = K), C = y (ldc = N). Accumulation is float32 (CUBLAS_COMPUTE_32F)
 * for both bf16 and float32 inputs; with the default math mode float32 GEMMs do not use TF32.
 */
final class Gemm implements Linear {
    private final cublasContext handle = new cublasContext();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private final CudaDevice device;
    /** A fixed cuBLAS workspace: a GEMM captured into a CUDA graph must not allocate one itself. */
    private final long workspace;
    private static final long WORKSPACE_BYTES = 32L << 20;

    Gemm(CudaDevice device) {
        this.device = device;
        checkBlas(cublasCreate_v2(handle), "cublasCreate_v2");
        checkBlas(cublasSetStream_v2(handle, device.stream), "cublasSetStream_v2");
        workspace = device.allocate(WORKSPACE_BYTES);
        checkBlas(cublasSetWorkspace_v2(handle, new DeviceAddress(workspace), WORKSPACE_BYTES), "cublasSetWorkspace_v2");
    }

    /** A recorded GEMM (see {@link StepGraph}). */
    record Call(Gemm gemm, long x, long w, long y, int m, int n, int k, DType inputs) implements StepGraph.Work {
        @Override
        public void run() {
            gemm.launch(x, w, y, m, n, k, inputs);
        }
    }

    @Override
    public void linear(long x, long w, long y, int m, int n, int k, DType inputs) {
        if (device.steps.mode() != StepGraph.Mode.EAGER && !device.steps.admit(new Call(this, x, w, y, m, n, k, inputs))) return;
        launch(x, w, y, m, n, k, inputs);
    }

    private void launch(long x, long w, long y, int m, int n, int k, DType inputs) {
        if (OpProfile.ENABLED && device.steps.mode() == StepGraph.Mode.EAGER) {
            OpProfile.begin(device.stream);
            gemmEx(x, w, y, m, n, k, inputs);
            OpProfile.end(device.stream, "cublasGemmEx " + inputs + " m" + (m <= 8 ? "<=8" : m <= 64 ? "<=64" : ">64") + " n" + n + " k" + k);
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

    @Override
    public void close() {
        cublasDestroy_v2(handle);
        device.free(workspace);
        one.close();
        zero.close();
    }
}
