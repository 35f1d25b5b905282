package dev.steer.kernels;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.javacpp.IntPointer;

/**
 * Shape checks and kernel launches for each op; outputs are allocated in the arena's current scope.
 * Activations must be float32 {@link DeviceTensor}s; weights may be bf16 where an op says so.
 */
final class Ops {
    private static final int THREADS = 256;
    /** Attention blocks: 4 warps; a thread owns up to 4 output dims, so headDim <= 512. */
    private static final int ATTENTION_THREADS = 128;
    /** attention_decode: 8 warps, 64 keys scored per pass (four lanes a key), at most DEC_MAX_WARPS in attention.cu. */
    private static final int DECODE_THREADS = 256;
    private static final int ATTENTION_TILE = 256;
    private static final int MAX_HEAD_DIM = 4 * ATTENTION_THREADS;
    /**
     * The decode-only attention kernel ({@code attend_decode} in attention.cu) for T = 1; STEER_ATTN_DECODE=0 falls
     * back to the general kernel. Its first version, measured on an H100 (BENCHMARKS.md, device run 5): steered
     * decode 207.9 -> 268.6 tok/s at batch 1 and 11,664 -> 13,733 at batch 64. Rewritten since to keep more loads
     * in flight (not yet timed on a GPU).
     */
    private static final boolean DECODE_ATTENTION = !"0".equals(System.getenv("STEER_ATTN_DECODE"));

    /**
     * Decode steps of the packed projection: rotary and the cache write inside the decode attention kernel (default;
     * STEER_ROPE_FUSED=0: rope_split_cache first, as in device run 5). Not yet timed on a GPU.
     */
    private static final boolean FUSED_ROPE = !"0".equals(System.getenv("STEER_ROPE_FUSED"));

    /** The opt-in kernels for this backend (from the environment; tests set them). */
    boolean decodeAttention = DECODE_ATTENTION;
    boolean fusedRope = FUSED_ROPE;
    /**
     * The plan times the packed gate/up projection with its gelu (default; STEER_GELU_TIMED=0: timed alone, as in
     * device run 6, for an A/B run). Not yet timed on a GPU.
     */
    boolean geluTimed = !"0".equals(System.getenv("STEER_GELU_TIMED"));
    /**
     * cuBLAS, cuBLASLt or gemv.cu for decode-sized bf16 linear layers (STEER_GEMV; see {@link LinearPlan}; unset:
     * auto on a GPU, cuBLAS on the emulator).
     */
    LinearPlan linearPlan;
    /**
     * Weights are bf16 (the BF16 precision): the ops whose output feeds a GEMM (RMSNorm, the gated GELU) write its
     * bf16 copy in the same pass, so no separate to_bf16 pass runs before the GEMM.
     */
    boolean bf16Operands;

    private final Gpu device;
    private final Kernels kernels;
    private final Linear gemm;
    private final Arena arena;
    private final HostUploads uploads;

    Ops(Gpu device, Kernels kernels, Linear gemm, Arena arena, HostUploads uploads) {
        this.device = device;
        this.kernels = kernels;
        this.gemm = gemm;
        this.arena = arena;
        this.uploads = uploads;
        this.linearPlan = LinearPlan.fromEnvironment(device instanceof CudaDevice);
    }

    static DeviceTensor cast(Tensor t, String op) {
        if (!(t instanceof DeviceTensor d)) throw new IllegalArgumentException(op + ": " + t + " is not a CUDA tensor");
        return d.live(op);
    }

    private static DeviceTensor f32(Tensor t, String op, String what) {
        DeviceTensor d = cast(t, op);
        if (d.dtype != DType.F32) throw new IllegalArgumentException(op + ": " + what + " " + d + " must be float32");
        return d;
    }

    private static long[] withLast(long[] shape, long last) {
        long[] s = shape.length == 0 ? new long[1] : shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    private static int blocks(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, 1L << 16));
    }

    Tensor embed(Tensor table, Tensor ids, float scale) {
        DeviceTensor t = cast(table, "embed");
        DeviceTensor i = cast(ids, "embed");
        if (t.shape.length != 2) throw new IllegalArgumentException("embed: table " + t + " must be [vocab, hidden]");
        if (i.dtype != DType.I32) throw new IllegalArgumentException("embed: ids " + i + " must be ints");
        long[] shape = Arrays.copyOf(i.shape, i.shape.length + 1);
        shape[i.shape.length] = t.shape[1];
        DeviceTensor out = arena.allocate(DType.F32, shape);
        kernel(t.dtype == DType.BF16 ? "embed_bf16" : "embed_f32")
                .ptr(t.address).ptr(i.address).ptr(out.address).i32((int) t.shape[1]).i32((int) t.shape[0]).f32(scale)
                .launch(i.elements(), 1, THREADS, 0);
        return out;
    }

    Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        DeviceTensor a = f32(x, "rmsNorm", "x");
        DeviceTensor b = f32(w, "rmsNorm", "w");
        long n = a.lastDim();
        if (b.elements() != n) throw new IllegalArgumentException("rmsNorm: w " + b + " does not match x " + a);
        DeviceTensor out = arena.allocate(DType.F32, a.shape);
        long out16 = withBf16Copy(out);
        kernel("rmsnorm_f32").ptr(a.address).ptr(b.address).ptr(out.address).ptr(out16).i32((int) n).f32(eps)
                .launch(a.elements() / Math.max(1, n), 1, THREADS, 0);
        return out;
    }

    /** {h + rmsNorm(x, wPost), rmsNorm(that, wPre)} in one pass per row ({@code add_rmsnorm_f32}). */
    Tensor[] addRmsNorm(Tensor h, Tensor x, Tensor wPost, Tensor wPre, float eps) {
        DeviceTensor r = f32(h, "addRmsNorm", "h"), a = f32(x, "addRmsNorm", "x");
        DeviceTensor post = f32(wPost, "addRmsNorm", "wPost"), pre = f32(wPre, "addRmsNorm", "wPre");
        long n = a.lastDim();
        if (!Arrays.equals(r.shape, a.shape)) throw new IllegalArgumentException("addRmsNorm: h " + r + " and x " + a + " differ");
        if (post.elements() != n || pre.elements() != n)
            throw new IllegalArgumentException("addRmsNorm: norm weights " + post + ", " + pre + " do not match x " + a);
        DeviceTensor res = arena.allocate(DType.F32, a.shape), norm = arena.allocate(DType.F32, a.shape);
        long norm16 = withBf16Copy(norm);
        kernel("add_rmsnorm_f32").ptr(r.address).ptr(a.address).ptr(post.address).ptr(pre.address).ptr(res.address)
                .ptr(norm.address).ptr(norm16).i32((int) n).f32(eps)
                .launch(a.elements() / Math.max(1, n), 1, THREADS, 0);
        return new Tensor[] {res, norm};
    }

    /** When GEMM operands are bf16: a bf16 buffer for {@code out}'s values, remembered as its copy; else 0. */
    private long withBf16Copy(DeviceTensor out) {
        if (!bf16Operands || out.elements() == 0) return 0;
        out.bf16Copy = arena.allocate(out.elements() * 2);
        return out.bf16Copy;
    }

    Tensor linear(Tensor x, Tensor w) {
        DeviceTensor a = f32(x, "linear", "x");
        DeviceTensor b = cast(w, "linear");
        if (b.shape.length != 2 || b.shape[1] != a.lastDim())
            throw new IllegalArgumentException("linear: weight " + b + " is not [out, " + a.lastDim() + "] for x " + a);
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        DeviceTensor out = arena.allocate(DType.F32, withLast(a.shape, n));
        if (m == 0) return out;
        if (b.dtype == DType.BF16 && linearPlan.covers(m, k)) {
            // Decode: weight streaming; x as its bf16 copy (q, k and v share one).
            long x16 = bf16Copy(a);
            linearWith(decodeMethod(x16, b.address, out.address, (int) m, (int) n, (int) k), x16, b.address, out.address,
                    (int) m, (int) n, (int) k);
            return out;
        }
        long input = a.address;
        if (b.dtype == DType.BF16) input = bf16Copy(a);
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
        LinearPlan.Method g = linearPlan.chosen(shape);   // every call after a shape's first: no timing set-up
        return g != null ? g : tune(shape, () -> {
            long into = y != 0 ? y : arena.allocate(DType.F32, m, n).address;
            return method -> linearWith(method, x16, w16, into, m, n, k);
        });
    }

    /**
     * The plan's choice for a shape met the first time: timed by the runner {@code timing} makes (its scratch
     * allocated only then) when the step is eager; during capture, where nothing can be timed, cuBLAS.
     */
    private LinearPlan.Method tune(LinearPlan.Shape shape, java.util.function.Supplier<LinearPlan.Runner> timing) {
        StepGraph steps = device.steps();
        boolean eager = steps == null || steps.mode() == StepGraph.Mode.EAGER;
        return linearPlan.choose(shape, eager, device,
                () -> gemm.ltAlgorithms(shape.m(), shape.n(), shape.k(), LinearPlan.LT_ALGORITHMS), eager ? timing.get() : null);
    }

    /**
     * geluTanh(gate) × up from the packed gate/up projection of x: where the plan computes that projection with a
     * gemv of two or more columns per block, that gemv's fused form ({@code gemv_gelu_*}) does it in one kernel,
     * without the [.., 2I] projection in memory; otherwise the linear layer, then {@link #geluTanhMulPacked}.
     */
    Tensor linearGeluPacked(Tensor x, Tensor w) {
        DeviceTensor a = f32(x, "linearGeluPacked", "x");
        DeviceTensor b = cast(w, "linearGeluPacked");
        if (b.shape.length != 2 || b.shape[1] != a.lastDim() || b.shape[0] % 2 != 0)
            throw new IllegalArgumentException("linearGeluPacked: weight " + b + " is not [2I, " + a.lastDim() + "] for x " + a);
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        if (m > 0 && b.dtype == DType.BF16 && linearPlan.covers(m, k)) {
            long x16 = bf16Copy(a);
            LinearPlan.Method g = geluTimed ? decodeMethodGelu(x16, b.address, (int) m, (int) n, (int) k)
                    : decodeMethod(x16, b.address, 0, (int) m, (int) n, (int) k);
            if (g instanceof LinearPlan.Gemv gv && gv.columns() >= 2) {
                DeviceTensor out = arena.allocate(DType.F32, withLast(a.shape, n / 2));
                geluGemv(gv, x16, b.address, out.address, withBf16Copy(out), (int) m, (int) n, (int) k);
                return out;
            }
            // the method chosen (with its gelu: not linear(), which would time the plain shape again), then the gelu
            DeviceTensor proj = arena.allocate(DType.F32, withLast(a.shape, n));
            linearWith(g, x16, b.address, proj.address, (int) m, (int) n, (int) k);
            return geluTanhMulPacked(proj);
        }
        return geluTanhMulPacked(linear(x, w));
    }

    /**
     * The plan's method for the packed gate/up projection feeding gelu_tanh(gate) × up. The first time the shape runs
     * eagerly, each candidate is timed as it would run in the step, into scratch tensors: a gemv of two or more
     * columns per block as its fused form, every other method (cuBLAS, cuBLASLt, a one-column gemv) followed by the
     * gelu kernel. So the fused form's saved launch counts (device run 6: the plan chose a one-column gemv for
     * gate/up alone, 1.2 µs faster than the fastest fused-capable one, and the separate gelu kernel then cost 4 µs).
     */
    private LinearPlan.Method decodeMethodGelu(long x16, long w16, int m, int n, int k) {
        LinearPlan.Shape shape = new LinearPlan.Shape(m, n, k, true);
        LinearPlan.Method g = linearPlan.chosen(shape);
        return g != null ? g : tune(shape, () -> {
            long inner = (long) m * (n / 2);
            long proj = arena.allocate(DType.F32, m, n).address, out = arena.allocate(DType.F32, m, n / 2).address;
            long out16 = bf16Operands ? arena.allocate(inner * 2) : 0;
            return method -> {
                if (method instanceof LinearPlan.Gemv gv && gv.columns() >= 2) {
                    geluGemv(gv, x16, w16, out, out16, m, n, k);
                } else {
                    linearWith(method, x16, w16, proj, m, n, k);
                    kernel("gelu_tanh_mul_packed_f32").ptr(proj).ptr(out).ptr(out16).i64(n / 2).i64(inner)
                            .launch(blocks(inner), 1, THREADS, 0);
                }
            };
        });
    }

    /** A gemv's fused gate/up form: gelu_tanh(gate) × up of x16 · w16ᵀ into {@code out} (and its bf16 copy). */
    private void geluGemv(LinearPlan.Gemv gv, long x16, long w16, long out, long out16, int m, int n, int k) {
        gemvKernels(gv)[1].ptr(x16).ptr(w16).ptr(out).ptr(out16).i32(m).i32(n).i32(k).launch(gv.geluBlocks(n / 2), 1, gv.threads(), 0);
    }

    /**
     * Kernels by name as the call sites spell them: string literals, the same object every call, so looked up by
     * identity (a replayed decode step resolves each of its launches' kernels on the host, and a String-keyed map
     * compares the characters). A name built at run time would add an entry per call: the map is bounded.
     */
    private final Map<String, Kernel> byName = new java.util.IdentityHashMap<>();

    private Kernel kernel(String name) {
        Kernel k = byName.get(name);
        if (k == null) {
            if (byName.size() >= 256) byName.clear();
            k = kernels.get(name);
            byName.put(name, k);
        }
        return k;
    }

    /** Per gemv configuration of the plan, its plain kernel and its fused gelu form (null below 2 columns). */
    private final Map<LinearPlan.Gemv, Kernel[]> gemvKernels = new java.util.IdentityHashMap<>();

    /** The plan hands out the same Gemv object for a shape every step: looked up by identity, names built once. */
    private Kernel[] gemvKernels(LinearPlan.Gemv g) {
        Kernel[] k = gemvKernels.get(g);
        if (k == null) {
            k = new Kernel[] {kernels.get(g.kernel()), g.columns() >= 2 ? kernels.get(g.geluKernel()) : null};
            gemvKernels.put(g, k);
        }
        return k;
    }

    /** {@code y = x16 · w16ᵀ} (bf16 operands) by {@code method}. */
    private void linearWith(LinearPlan.Method method, long x16, long w16, long y, int m, int n, int k) {
        if (method instanceof LinearPlan.Gemv g)
            gemvKernels(g)[0].ptr(x16).ptr(w16).ptr(y).i32(m).i32(n).i32(k).launch(g.blocks(n), 1, g.threads(), 0);
        else if (method instanceof LinearPlan.Lt lt) gemm.linearLt(lt, x16, w16, y, m, n, k);
        else gemm.linear(x16, w16, y, m, n, k, DType.BF16);
    }

    /** cuBLASLt's algorithms for a bf16 linear of this shape (for the self-check). */
    java.util.List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k) {
        return gemm.ltAlgorithms(m, n, k, LinearPlan.LT_ALGORITHMS);
    }

    /** {@code x · wᵀ} by {@code method}, whatever the plan would choose (for the self-check); w must be bf16. */
    Tensor linearBy(Tensor x, Tensor w, LinearPlan.Method method) {
        DeviceTensor a = f32(x, "linearBy", "x");
        DeviceTensor b = cast(w, "linearBy");
        if (b.dtype != DType.BF16 || b.shape.length != 2 || b.shape[1] != a.lastDim())
            throw new IllegalArgumentException("linearBy: weight " + b + " is not bf16 [out, " + a.lastDim() + "]");
        long k = b.shape[1], n = b.shape[0], m = a.elements() / Math.max(1, k);
        DeviceTensor out = arena.allocate(DType.F32, withLast(a.shape, n));
        linearWith(method, bf16Copy(a), b.address, out.address, (int) m, (int) n, (int) k);
        return out;
    }

    /** x rounded to bf16 for a bf16 GEMM; remembered while x's scope is current (q, k, v share one copy). */
    private long bf16Copy(DeviceTensor x) {
        if (x.bf16Copy != 0 && x.scope == arena.current()) return x.bf16Copy;
        long n = x.elements();
        long copy = arena.allocate(n * 2);
        kernel("to_bf16").ptr(x.address).ptr(copy).i64(n).launch(blocks(n), 1, THREADS, 0);
        if (x.scope == arena.current()) x.bf16Copy = copy;
        return copy;
    }

    /** add, gelu_tanh_mul (two inputs; also writes the bf16 copy) or softcap (one input and {@code cap}). */
    Tensor elementwise(String kernel, Tensor x, Tensor y, float cap) {
        DeviceTensor a = f32(x, kernel, "input");
        DeviceTensor out = arena.allocate(DType.F32, a.shape);
        long n = a.elements();
        Kernel k = kernel(kernel).ptr(a.address);
        if (y != null) {
            DeviceTensor b = f32(y, kernel, "input");
            if (!Arrays.equals(a.shape, b.shape)) throw new IllegalArgumentException(kernel + ": shapes " + a + " and " + b + " differ");
            k.ptr(b.address).ptr(out.address);
            if (kernel.startsWith("gelu")) k.ptr(withBf16Copy(out));
            k.i64(n);
        } else {
            k.ptr(out.address).i64(n).f32(cap);
        }
        k.launch(blocks(n), 1, THREADS, 0);
        return out;
    }

    Tensor rope(Tensor x, int heads, int headDim, CudaRopeTable table) {
        DeviceTensor a = f32(x, "rope", "x");
        if (a.lastDim() != (long) heads * headDim) throw new IllegalArgumentException("rope: x " + a + " is not [..., " + heads + " x " + headDim + "]");
        if (table.headDim() != headDim) throw new IllegalArgumentException("rope: table is for headDim " + table.headDim() + ", not " + headDim);
        long rows = a.elements() / Math.max(1, a.lastDim());
        if (rows != table.rows()) throw new IllegalArgumentException("rope: x has " + rows + " rows, table " + table.rows());
        cast(table.table(), "rope");
        DeviceTensor out = arena.allocate(DType.F32, a.shape);
        kernel("rope_f32").ptr(a.address).ptr(table.table().address).ptr(out.address).i32(heads).i32(headDim)
                .launch(rows, 1, THREADS, 0);
        return out;
    }

    /** Packed [.., 2I] → gelu_tanh(gate) × up [.., I] (and its bf16 copy for the down projection). */
    Tensor geluTanhMulPacked(Tensor gateUp) {
        DeviceTensor a = f32(gateUp, "geluTanhMulPacked", "gateUp");
        long two = a.lastDim();
        if (two % 2 != 0) throw new IllegalArgumentException("geluTanhMulPacked: " + a + " has an odd last dimension");
        DeviceTensor out = arena.allocate(DType.F32, withLast(a.shape, two / 2));
        long n = out.elements();
        kernel("gelu_tanh_mul_packed_f32").ptr(a.address).ptr(out.address).ptr(withBf16Copy(out)).i64(two / 2).i64(n)
                .launch(blocks(n), 1, THREADS, 0);
        return out;
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
        kernel(c.dtype == DType.BF16 ? "kv_write_bf16" : "kv_write_f32")
                .ptr(kd.address).ptr(vd.address).ptr(c.keys(layer)).ptr(c.values(layer))
                .i32(t).i32(c.kvHeads).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .launch((long) b * t, 1, THREADS, 0);
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
        DeviceTensor q = arena.allocate(DType.F32, b, t, qw);
        kernel(c.dtype == DType.BF16 ? "rope_split_cache_bf16" : "rope_split_cache_f32")
                .ptr(a.address).ptr(table.table().address).ptr(q.address).ptr(c.keys(layer)).ptr(c.values(layer))
                .i32(t).i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .launch((long) b * t, spec.heads() + spec.kvHeads(), Math.min(THREADS, (d / 2 + 31) / 32 * 32), 0);
        return attend(q, 0, c, layer, layout, spec);
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
        return t == 1 && decodeAttention && d % 8 == 0 && d <= 256;
    }

    /**
     * The attention kernel over the cache, whose slots [past, past + T) this step's keys and values now fill; or,
     * with a rotary table ({@code rope} non-zero, decode kernel only), qd is the packed q/k/v projection and the
     * kernel rotates it and writes this step's key and value itself.
     */
    private DeviceTensor attend(DeviceTensor qd, long rope, CudaKvCache c, int layer, StepLayout layout, AttentionSpec spec) {
        int b = layout.batch(), t = layout.steps(), d = spec.headDim();
        boolean bf16 = c.dtype == DType.BF16;
        DeviceTensor out = arena.allocate(DType.F32, b, t, (long) spec.heads() * d);
        long out16 = withBf16Copy(out);
        if (decodeKernel(t, d)) {
            String name = rope != 0 ? (bf16 ? "attention_decode_rope_bf16" : "attention_decode_rope_f32")
                    : (bf16 ? "attention_decode_bf16" : "attention_decode_f32");
            Kernel k = kernel(name).ptr(qd.address);
            if (rope != 0) k.ptr(rope);
            k.ptr(c.keys(layer)).ptr(c.values(layer)).ptr(c.padLeft).ptr(out.address).ptr(out16)
                    .i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                    .f32(spec.scale()).f32(spec.softcap()).i32(spec.window())
                    .launch(b, spec.heads(), DECODE_THREADS, 0);
            return out;
        }
        if (rope != 0) throw new IllegalStateException("attend: a rotary table is for the decode kernel only");
        kernel(bf16 ? "attention_bf16" : "attention_f32")
                .ptr(qd.address).ptr(c.keys(layer)).ptr(c.values(layer)).ptr(c.padLeft).ptr(out.address).ptr(out16)
                .i32(t).i32(spec.heads()).i32(spec.kvHeads()).i32(d).i32(c.capacity()).ptr(c.pastDevice)
                .f32(spec.scale()).f32(spec.softcap()).i32(spec.window())
                .launch((long) b * t, spec.heads(), ATTENTION_THREADS, (d + ATTENTION_TILE) * 4);
        return out;
    }

    Tensor lastStep(Tensor x) {
        DeviceTensor a = f32(x, "lastStep", "x");
        if (a.shape.length != 3) throw new IllegalArgumentException("lastStep: x " + a + " must be [B, T, F]");
        // One step (decode): the same memory read as [B, F], no copy; it lives and dies with x's scope, and x's bf16
        // copy (same layout) serves it too, so the GEMM that reads it next (lm_head) converts nothing.
        if (a.shape[1] == 1) {
            DeviceTensor view = new DeviceTensor(a.address, DType.F32, new long[] {a.shape[0], a.shape[2]}, a.scope);
            view.bf16Copy = a.bf16Copy;
            return view;
        }
        DeviceTensor out = arena.allocate(DType.F32, a.shape[0], a.shape[2]);
        kernel("last_step_f32").ptr(a.address).ptr(out.address).i32((int) a.shape[1]).i32((int) a.shape[2])
                .launch(a.shape[1] == 0 ? 0 : a.shape[0], 1, THREADS, 0);
        return out;
    }

    /** {@code update} null: the hook on h itself; else on {@code h + update}, added in the same pass. */
    SteerResult steer(Tensor h, Tensor update, Tensor delta, Tensor mask, boolean norms) {
        DeviceTensor x = f32(h, "steer", "h");
        if (x.shape.length != 3) throw new IllegalArgumentException("steer: h " + x + " must be [B, T, H]");
        long b = x.shape[0], t = x.shape[1], hidden = x.shape[2];
        DeviceTensor u = null, d = null, m = null, out = null, n = null;
        if (update != null) {
            u = f32(update, "steer", "update");
            if (!Arrays.equals(u.shape, x.shape)) throw new IllegalArgumentException("steer: update " + u + " does not match h " + x);
            out = arena.allocate(DType.F32, x.shape);
        }
        if (delta != null) {
            d = f32(delta, "steer", "delta");
            m = f32(mask, "steer", "mask");
            if (!Arrays.equals(d.shape, new long[] {b, hidden})) throw new IllegalArgumentException("steer: delta " + d + " is not [" + b + ", " + hidden + "]");
            if (!Arrays.equals(m.shape, new long[] {b, t})) throw new IllegalArgumentException("steer: mask " + m + " is not [" + b + ", " + t + "]");
            if (out == null) out = arena.allocate(DType.F32, x.shape);
        }
        if (norms) n = arena.allocate(DType.F32, b, t);
        if (out == null && n == null) return new SteerResult(x, null);
        kernel("steer_f32").ptr(x.address).ptr(u == null ? 0 : u.address).ptr(d == null ? 0 : d.address).ptr(m == null ? 0 : m.address)
                .ptr(out == null ? 0 : out.address).ptr(n == null ? 0 : n.address).i32((int) t).i32((int) hidden)
                .launch(b * t, 1, THREADS, 0);
        return new SteerResult(out == null ? x : out, n);
    }

    /** Sampling blocks: 8 warps per slice of a row (each thread keeps 16 doubles of digit sums in registers). */
    private static final int SAMPLE_THREADS = 256;
    /** Bytes of sample.cu's per-row state (SampleRow; a static_assert there keeps it within). */
    private static final int SAMPLE_ROW_BYTES = 256;
    /** Slices per row for sampling; 0 = {@link #sampleSlices}'s rule (the self-check sets others). */
    int sampleSlices;

    /**
     * {@code sample.cu}: each row in slices (grid slices × rows), one launch per pass; the rows' probabilities (double),
     * the slices' partial sums and each row's search state are scratch in the current scope.
     */
    int[] sample(Tensor logits, double temperature, double topP, double[] uniforms) {
        return downloadInts(sampleQueued(logits, temperature, topP, uniforms), uniforms.length);
    }

    /** Queues the sampling kernels; returns the address of the [rows] int tokens they write (0 when no rows). */
    long sampleQueued(Tensor logits, double temperature, double topP, double[] uniforms) {
        DeviceTensor x = f32(logits, "sample", "logits");
        long v = x.lastDim();
        if (v <= 0 || v > Integer.MAX_VALUE) throw new IllegalArgumentException("sample: logits " + x + " have no usable last dimension");
        int rows = (int) (x.elements() / v);
        if (uniforms.length != rows) throw new IllegalArgumentException("sample: " + uniforms.length + " draws for " + rows + " rows of " + x);
        if (!(temperature > 0) || !(topP > 0)) throw new IllegalArgumentException("sample: temperature " + temperature + " and top-p " + topP + " must be positive");
        if (rows == 0) return 0;
        int vocab = (int) v, s = sampleSlices > 0 ? sampleSlices : sampleSlices(rows, vocab);
        long p = arena.allocate(rows * v * 8);
        long sliceMax = arena.allocate(rows * (long) s * 4), sliceMass = arena.allocate(rows * (long) s * 8);
        long bins = arena.allocate(2L * rows * s * 16 * 8), counts = arena.allocate(2L * rows * s * 8);
        long state = arena.allocate(rows * (long) SAMPLE_ROW_BYTES);
        long draws = arena.allocate(rows * 8L);
        long out = arena.allocate(rows * 4L);
        uploads.doubles(device, draws, uniforms);
        int[] preset = new int[rows];
        Arrays.fill(preset, vocab - 1);          // the rule's answer when rounding leaves every search short
        uploads.ints(device, out, preset);
        int settleBlocks = (rows + THREADS - 1) / THREADS;
        kernel("sample_max").ptr(x.address).ptr(sliceMax).i32(vocab).launch(s, rows, SAMPLE_THREADS, 0);
        kernel("sample_exp").ptr(x.address).ptr(sliceMax).ptr(p).ptr(sliceMass).ptr(state).i32(vocab).f64(temperature)
                .launch(s, rows, SAMPLE_THREADS, 0);
        if (topP >= 1.0) {
            kernel("sample_pick_index").ptr(p).ptr(sliceMass).ptr(draws).ptr(out).i32(vocab).launch(s, rows, SAMPLE_THREADS, 0);
        } else {
            kernel("sample_start").ptr(sliceMass).ptr(state).i32(rows).i32(s).f64(topP).launch(settleBlocks, 1, THREADS, 0);
            for (int which = 0; which < 2; which++) {
                for (int pass = 0; pass <= 8; pass++)
                    kernel("sample_radix").ptr(x.address).ptr(p).ptr(sliceMass).ptr(bins).ptr(counts).ptr(state).i32(vocab)
                            .i32(which).i32(pass).launch(s, rows, SAMPLE_THREADS, 0);
                kernel("sample_settle").ptr(counts).ptr(draws).ptr(state).i32(rows).i32(s).i32(which).f64(temperature)
                        .launch(settleBlocks, 1, THREADS, 0);
            }
            kernel("sample_nth").ptr(x.address).ptr(counts).ptr(state).ptr(out).i32(vocab).launch(s, rows, SAMPLE_THREADS, 0);
        }
        return out;
    }

    /**
     * Slices per row for sampling: about two blocks per multiprocessor of an H100 over the whole batch (264 / rows),
     * at most 64, and no slice under 2,048 tokens.
     */
    static int sampleSlices(int rows, int vocab) {
        int s = Math.min(64, (264 + rows - 1) / rows);
        s = Math.min(s, (vocab + 2047) / 2048);
        return Math.max(1, s);
    }

    int[] argmax(Tensor logits) {
        return downloadInts(argmaxQueued(logits), rows(logits));
    }

    /** Rows of a [.., vocab] logits tensor. */
    static int rows(Tensor logits) {
        DeviceTensor x = cast(logits, "rows");
        return (int) (x.elements() / Math.max(1, x.lastDim()));
    }

    /** {@code n} ints at {@code address}, read back now. */
    private int[] downloadInts(long address, int n) {
        int[] ids = new int[n];
        if (n == 0) return ids;
        try (IntPointer host = new IntPointer(n)) {
            device.download(host, address, n * 4L);
            host.get(ids);
        }
        return ids;
    }

    /** Queues argmax of each row into a new int buffer of the current scope; returns its address. */
    long argmaxQueued(Tensor logits) {
        DeviceTensor x = f32(logits, "argmax", "logits");
        long v = x.lastDim();
        if (v <= 0) throw new IllegalArgumentException("argmax: logits " + x + " have no columns");
        int rows = (int) (x.elements() / v);
        long out = arena.allocate(rows * 4L);
        kernel("argmax_f32").ptr(x.address).ptr(out).i32((int) v).launch(rows, 1, THREADS * 4, 0);
        return out;
    }
}
