package dev.steer.kernels;

/**
 * Where op outputs go: the arena's current scope. With bf16 weights (the BF16 precision) the ops whose output feeds
 * a GEMM (the norms, the gated GELU, attention) write its bf16 copy in the same pass, so no separate to_bf16 pass
 * runs before the GEMM.
 */
final class Outputs {
    final Arena arena;
    private final boolean bf16Operands;

    Outputs(Arena arena, boolean bf16Operands) {
        this.arena = arena;
        this.bf16Operands = bf16Operands;
    }

    DeviceTensor f32(long... shape) {
        return arena.allocate(DType.F32, shape);
    }

    /** {@code bytes} of scratch in the current scope; its address. */
    long bytes(long bytes) {
        return arena.allocate(bytes);
    }

    /** When GEMM operands are bf16: a bf16 buffer for {@code out}'s values, remembered as its copy; else 0. */
    long withBf16Copy(DeviceTensor out) {
        if (!bf16Operands || out.elements() == 0) return 0;
        out.bf16Copy = arena.allocate(out.elements() * 2);
        return out.bf16Copy;
    }

    /** A bf16 scratch buffer of {@code elements} when GEMM operands are bf16, else 0. */
    long bf16Scratch(long elements) {
        return bf16Operands ? arena.allocate(elements * 2) : 0;
    }
}
