package dev.steer.kernels;

/**
 * How the CUDA backend stores and multiplies. In both, activations (the residual stream, norms, softmax) are
 * float32; what changes is the storage of weight matrices and the KV cache, and the GEMM inputs.
 */
public enum Precision {
    /** Weight matrices and KV cache in bf16; GEMMs take bf16 inputs and accumulate in float32. */
    BF16,
    /** Everything float32: the tiny-fixture correctness check. */
    F32
}
