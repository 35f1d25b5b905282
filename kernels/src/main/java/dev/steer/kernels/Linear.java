package dev.steer.kernels;

import java.util.List;

/**
 * {@code y = x · wᵀ}, row-major: x [M, K], w [N, K] (Hugging Face's [out, in]), y [M, N] float32, with float32
 * accumulation. {@link Gemm} (cuBLAS) on a GPU, a plain loop in the CPU emulation.
 */
interface Linear extends AutoCloseable {
    /** {@code inputs}: {@link DType#BF16} or {@link DType#F32}, the type of both x and w. */
    void linear(long x, long w, long y, int m, int n, int k, DType inputs);

    /**
     * cuBLASLt's algorithms for this shape with bf16 inputs and a float32 output, in its heuristic's order (at most
     * {@code max}); empty where there is no cuBLASLt or it has none. For {@link LinearPlan}'s timing.
     */
    List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k, int max);

    /** {@code y = x · wᵀ}, bf16 inputs, by {@code algorithm} (one of {@link #ltAlgorithms} for this shape). */
    void linearLt(LinearPlan.Lt algorithm, long x, long w, long y, int m, int n, int k);

    @Override
    void close();
}
