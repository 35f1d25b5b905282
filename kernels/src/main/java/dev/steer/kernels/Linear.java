package dev.steer.kernels;

/**
 * {@code y = x · wᵀ}, row-major: x [M, K], w [N, K] (Hugging Face's [out, in]), y [M, N] float32, with float32
 * accumulation. {@link Gemm} (cuBLAS) on a GPU, a plain loop in the CPU emulation.
 */
interface Linear extends AutoCloseable {
    /** {@code inputs}: {@link DType#BF16} or {@link DType#F32}, the type of both x and w. */
    void linear(long x, long w, long y, int m, int n, int k, DType inputs);

    @Override
    void close();
}
