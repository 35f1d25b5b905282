package dev.steer.kernels;

import static dev.steer.kernels.Operands.cast;

import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/** embed.cu: one block per token id, striding over the hidden size. */
final class EmbedOps {
    private static final int THREADS = 256;

    private final Kernel f32;
    private final Kernel bf16;
    private final Outputs outputs;

    EmbedOps(Kernels kernels, Outputs outputs) {
        this.f32 = kernels.get("embed_f32");
        this.bf16 = kernels.get("embed_bf16");
        this.outputs = outputs;
    }

    Tensor embed(Tensor table, Tensor ids, float scale) {
        DeviceTensor t = cast(table, "embed");
        DeviceTensor i = cast(ids, "embed");
        if (t.shape.length != 2) throw new IllegalArgumentException("embed: table " + t + " must be [vocab, hidden]");
        if (i.dtype != DType.I32) throw new IllegalArgumentException("embed: ids " + i + " must be ints");
        long[] shape = Arrays.copyOf(i.shape, i.shape.length + 1);
        shape[i.shape.length] = t.shape[1];
        DeviceTensor out = outputs.f32(shape);
        (t.dtype == DType.BF16 ? bf16 : f32)
                .ptr(t.address).ptr(i.address).ptr(out.address).i32((int) t.shape[1]).i32((int) t.shape[0]).f32(scale)
                .launch(i.elements(), 1, THREADS, 0);
        return out;
    }
}
