package dev.steer.kernels;

import static dev.steer.kernels.Operands.cast;
import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Tensor;

/** rope.cu: rotary embedding, alone or with the split of a packed q/k/v projection into q and the KV cache. */
final class RopeOps {
    /** rope_f32: one block per row, striding over its heads' pairs. */
    private static final int THREADS = 256;
    /** rope_split_cache: a block per (row, head), a thread per rotated pair, so at most this many threads. */
    private static final int MAX_SPLIT_THREADS = 256;

    private final Kernel rope;
    private final Kernel splitCacheF32;
    private final Kernel splitCacheBf16;
    private final Outputs outputs;

    RopeOps(Kernels kernels, Outputs outputs) {
        this.rope = kernels.get("rope_f32");
        this.splitCacheF32 = kernels.get("rope_split_cache_f32");
        this.splitCacheBf16 = kernels.get("rope_split_cache_bf16");
        this.outputs = outputs;
    }

    Tensor rope(Tensor x, int heads, int headDim, CudaRopeTable table) {
        DeviceTensor a = f32(x, "rope", "x");
        if (a.lastDim() != (long) heads * headDim) throw new IllegalArgumentException("rope: x " + a + " is not [..., " + heads + " x " + headDim + "]");
        if (table.headDim() != headDim) throw new IllegalArgumentException("rope: table is for headDim " + table.headDim() + ", not " + headDim);
        long rows = a.elements() / Math.max(1, a.lastDim());
        if (rows != table.rows()) throw new IllegalArgumentException("rope: x has " + rows + " rows, table " + table.rows());
        cast(table.table(), "rope");
        DeviceTensor out = outputs.f32(a.shape);
        rope.ptr(a.address).ptr(table.table().address).ptr(out.address).i32(heads).i32(headDim)
                .launch(rows, 1, THREADS, 0);
        return out;
    }

    /**
     * Packed [b, t, q + 2 kv] → q rotated into a new [b, t, q] tensor; keys rotated and values copied into the
     * cache's slots of this step (the caller has checked the shapes).
     */
    DeviceTensor splitIntoCache(DeviceTensor qkv, CudaRopeTable table, CudaKvCache c, int layer, int b, int t, AttentionSpec spec) {
        int d = spec.headDim();
        DeviceTensor q = outputs.f32(b, t, (long) spec.heads() * d);
        (c.dtype == DType.BF16 ? splitCacheBf16 : splitCacheF32)
                .ptr(qkv.address).ptr(table.table().address).ptr(q.address).ptr(c.keys(layer)).ptr(c.values(layer))
                .i32(t).i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .launch((long) b * t, spec.heads() + spec.kvHeads(), Math.min(MAX_SPLIT_THREADS, (d / 2 + 31) / 32 * 32), 0);
        return q;
    }
}
