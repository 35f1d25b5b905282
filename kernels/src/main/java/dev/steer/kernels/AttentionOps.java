package dev.steer.kernels;

import static dev.steer.kernels.Operands.cast;
import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/** attention.cu: the KV-cache write and attention over the cache, the general kernel and the decode one. */
final class AttentionOps {
    /** kv_write: one block per (row, step). */
    private static final int KV_WRITE_THREADS = 256;
    /** attend: 4 warps; a thread owns up to ATT_DIMS_PER_THREAD (4) output dims, so headDim <= 512. */
    private static final int THREADS = 128;
    private static final int MAX_HEAD_DIM = 4 * THREADS;
    /** ATT_TILE: keys scored per tile, in shared memory with q (floats). */
    private static final int TILE = 256;
    /** attend_decode: 8 warps, 64 keys scored per pass (four lanes a key), at most DEC_MAX_WARPS (8). */
    private static final int DECODE_THREADS = 256;
    /** attend_decode's limits: headDim a multiple of 8 (eight cache elements a load) and at most 256. */
    private static final int DECODE_MAX_HEAD_DIM = 256;

    private final Kernel kvWriteF32;
    private final Kernel kvWriteBf16;
    private final Kernel attendF32;
    private final Kernel attendBf16;
    private final Kernel decodeF32;
    private final Kernel decodeBf16;
    private final Kernel decodeRopeF32;
    private final Kernel decodeRopeBf16;
    private final RopeOps rope;
    private final Outputs outputs;
    /** The decode kernel for one-token steps (else the general one); see {@link KernelSettings}. */
    private final boolean decodeAttention;
    /** Decode steps of the packed projection: rotary and the cache write inside the decode kernel. */
    private final boolean fusedRope;

    AttentionOps(Kernels kernels, RopeOps rope, Outputs outputs, KernelSettings settings) {
        this.kvWriteF32 = kernels.get("kv_write_f32");
        this.kvWriteBf16 = kernels.get("kv_write_bf16");
        this.attendF32 = kernels.get("attention_f32");
        this.attendBf16 = kernels.get("attention_bf16");
        this.decodeF32 = kernels.get("attention_decode_f32");
        this.decodeBf16 = kernels.get("attention_decode_bf16");
        this.decodeRopeF32 = kernels.get("attention_decode_rope_f32");
        this.decodeRopeBf16 = kernels.get("attention_decode_rope_bf16");
        this.rope = rope;
        this.outputs = outputs;
        this.decodeAttention = settings.decodeAttention();
        this.fusedRope = settings.fusedRope();
    }

    Tensor attention(Tensor q, Tensor k, Tensor v, CudaKvCache c, int layer, StepLayout layout, AttentionSpec spec) {
        DeviceTensor qd = f32(q, "attention", "q"), kd = f32(k, "attention", "k"), vd = f32(v, "attention", "v");
        int b = layout.batch(), t = layout.steps(), d = spec.headDim();
        checkCache(c, layer, layout, spec, "attention");
        long[] qShape = {b, t, (long) spec.heads() * d}, kvShape = {b, t, (long) spec.kvHeads() * d};
        if (!Arrays.equals(qd.shape, qShape) || !Arrays.equals(kd.shape, kvShape) || !Arrays.equals(vd.shape, kvShape))
            throw new IllegalArgumentException("attention: q " + qd + ", k " + kd + ", v " + vd + " for batch " + b + ", steps " + t + ", " + spec);
        c.usePadLeft(layout.padLeft());
        c.usePast(layout.past());
        (c.dtype == DType.BF16 ? kvWriteBf16 : kvWriteF32)
                .ptr(kd.address).ptr(vd.address).ptr(c.keys(layer)).ptr(c.values(layer))
                .i32(t).i32(c.kvHeads).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .launch((long) b * t, 1, KV_WRITE_THREADS, 0);
        return attend(qd, 0, c, layer, layout, spec);
    }

    /** Packed qkv: q rotated into a tensor, keys rotated and values copied straight into the cache, then attention. */
    Tensor attentionPacked(Tensor qkv, CudaRopeTable table, CudaKvCache c, int layer, StepLayout layout, AttentionSpec spec) {
        DeviceTensor a = f32(qkv, "attentionPacked", "qkv");
        int b = layout.batch(), t = layout.steps(), d = spec.headDim();
        checkCache(c, layer, layout, spec, "attentionPacked");
        long qw = (long) spec.heads() * d, kw = (long) spec.kvHeads() * d;
        if (!Arrays.equals(a.shape, new long[] {b, t, qw + 2 * kw}))
            throw new IllegalArgumentException("attentionPacked: qkv " + a + " is not [" + b + ", " + t + ", " + (qw + 2 * kw) + "] for " + spec);
        if (table.headDim() != d || table.rows() != (long) b * t)
            throw new IllegalArgumentException("attentionPacked: rope table for headDim " + table.headDim() + ", " + table.rows() + " rows does not fit qkv " + a);
        cast(table.table(), "attentionPacked");
        c.usePadLeft(layout.padLeft());
        c.usePast(layout.past());
        // decode step: rotary, cache write and attention in one kernel (attend_decode's fused form)
        if (fusedRope && decodeKernel(t, d)) return attend(a, table.table().address, c, layer, layout, spec);
        return attend(rope.splitIntoCache(a, table, c, layer, b, t, spec), 0, c, layer, layout, spec);
    }

    private static void checkCache(CudaKvCache c, int layer, StepLayout layout, AttentionSpec spec, String op) {
        int b = layout.batch(), t = layout.steps(), d = spec.headDim();
        if (layer < 0 || layer >= c.layers) throw new IllegalArgumentException(op + ": layer " + layer + " outside cache of " + c.layers);
        if (b != c.batch()) throw new IllegalArgumentException(op + ": batch " + b + " but cache batch " + c.batch());
        if (layout.past() != c.length()) throw new IllegalArgumentException(op + ": layout past " + layout.past() + " but cache holds " + c.length());
        if (layout.past() + t > c.capacity()) throw new IllegalStateException(op + ": " + layout.past() + " + " + t + " steps exceed KV capacity " + c.capacity());
        if (spec.kvHeads() != c.kvHeads || d != c.headDim) throw new IllegalArgumentException(op + ": spec " + spec + " does not match the cache");
        if (d > MAX_HEAD_DIM) throw new IllegalArgumentException(op + ": headDim " + d + " above " + MAX_HEAD_DIM);
    }

    /** Whether a step of {@code t} queries with head size {@code d} goes to the decode attention kernel. */
    private boolean decodeKernel(int t, int d) {
        return t == 1 && decodeAttention && d % 8 == 0 && d <= DECODE_MAX_HEAD_DIM;
    }

    /**
     * The attention kernel over the cache, whose slots [past, past + T) this step's keys and values now fill; or,
     * with a rotary table ({@code rope} non-zero, decode kernel only), qd is the packed q/k/v projection and the
     * kernel rotates it and writes this step's key and value itself.
     */
    private DeviceTensor attend(DeviceTensor qd, long rope, CudaKvCache c, int layer, StepLayout layout, AttentionSpec spec) {
        int b = layout.batch(), t = layout.steps(), d = spec.headDim();
        boolean bf16 = c.dtype == DType.BF16;
        DeviceTensor out = outputs.f32(b, t, (long) spec.heads() * d);
        long out16 = outputs.withBf16Copy(out);
        if (decodeKernel(t, d)) {
            Kernel k = (rope != 0 ? (bf16 ? decodeRopeBf16 : decodeRopeF32) : (bf16 ? decodeBf16 : decodeF32)).ptr(qd.address);
            if (rope != 0) k.ptr(rope);
            k.ptr(c.keys(layer)).ptr(c.values(layer)).ptr(c.padLeft).ptr(out.address).ptr(out16)
                    .i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                    .f32(spec.scale()).f32(spec.softcap()).i32(spec.window())
                    .launch(b, spec.heads(), DECODE_THREADS, 0);
            return out;
        }
        if (rope != 0) throw new IllegalStateException("attend: a rotary table is for the decode kernel only");
        (bf16 ? attendBf16 : attendF32)
                .ptr(qd.address).ptr(c.keys(layer)).ptr(c.values(layer)).ptr(c.padLeft).ptr(out.address).ptr(out16)
                .i32(t).i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .f32(spec.scale()).f32(spec.softcap()).i32(spec.window())
                .launch((long) b * t, spec.heads(), THREADS, (d + TILE) * 4);
        return out;
    }
}
