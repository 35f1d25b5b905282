package dev.steer.engine.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PackedLayer;
import dev.steer.engine.backend.RopeTable;
import dev.steer.engine.backend.RotaryAngles;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.tensor.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference backend: DJL's PyTorch engine on the CPU (the natives come from Maven). Compute is float32; weight
 * matrices are float32, or with {@code bf16} kept 16-bit and multiplied by {@link Bf16Ops} (bf16 inputs, float32
 * accumulation), while the residual stream, norms, attention and softmax stay float32 as on the CUDA bf16 path.
 *
 * <p>Memory: every op result is attached to the current scope's NDManager; intermediates whose receiver is a
 * weight (which PyTorch would attach to the weights' manager) are attached explicitly, so a loop of scoped steps
 * holds no native memory after its scope closes.
 */
public final class DjlBackend implements Backend {
    /** Added to masked attention scores: finite, so a query with no visible key gives finite (unused) output. */
    private static final float MASKED = -1e30f;
    /** Rows per chunk when streaming a weight from the host: bounds the transient direct buffer. */
    private static final long CHUNK_ELEMENTS = 1L << 22;

    private final NDManager root;
    private final NDManager weights;
    private final Deque<NDManager> scopes = new ArrayDeque<>();
    /** Set with bf16 weights: the module that makes and multiplies them. */
    private final Bf16Ops bf16;
    private final List<IValue> bf16Weights = new ArrayList<>();
    private long weightBytes;
    private final OpProfile profile = new OpProfile();
    /** {@code 1 + w} of each 1-D weight (the RMSNorm scales), by identity of the weight's array. */
    private final Map<NDArray, NDArray> onePlus = new IdentityHashMap<>();
    /** Direct buffers of those (1 + w), made when the kernels' decode layer first needs them. */
    private final Map<NDArray, ByteBuffer> onePlusBuffers = new IdentityHashMap<>();
    /** Reused for every upload: DJL copies a heap buffer into a fresh direct one, freed only when the GC runs. */
    private ByteBuffer staging;
    /**
     * Whether the products, norms, gelu, softcap and decode attention run on {@link CpuKernels} (else all on
     * PyTorch), and why not when they do not.
     */
    private final boolean kernels;
    private final String kernelsOff;
    /** The kernels' instruction-set variant (index into {@link CpuKernels#ISAS}), and their pool's threads. */
    private final int isa;
    private final int kernelThreads;
    /** First-element address of each float32 weight matrix, for the kernels. */
    private final Map<NDArray, Long> addresses = new IdentityHashMap<>();
    /**
     * Addresses of the weight matrices the kernels hold in their packed layout ({@link CpuKernels#pack}): only the
     * kernels read them (PyTorch would see the rows interleaved), so a product or gather too large for one kernel
     * call runs as several.
     */
    private final Set<Long> packed = new HashSet<>();
    /** The most bytes one kernel call's activation or output buffer holds (a direct buffer's int capacity); tests lower it. */
    static long callBufferBytes = Integer.MAX_VALUE;
    /**
     * {@code -Dsteer.cpu.pack=}: empty (the default) packs the weight matrices where the shape allows and the
     * instruction set's packed kernel was measured ahead of row by row ({@link CpuKernels#packsByDefault}); {@code on}
     * packs wherever the shape allows, {@code off} keeps every matrix row by row (the comparisons BENCHMARKS.md makes).
     */
    static final String PACK_PROPERTY = "steer.cpu.pack";
    /** Whether weight matrices are packed where the shape allows (the setting resolved for this variant and precision). */
    private final boolean pack;
    /** Every weight matrix's address and bytes (float32 or bf16), for the weight read pass. */
    private final List<long[]> matrices = new ArrayList<>();
    private long hugePageBytes;
    private long packedBytes;

    private DjlBackend(NDManager root, boolean bf16, String kernelsOff, int isa, int kernelThreads, Boolean pack) {
        this.root = root;
        this.weights = root.newSubManager();
        this.scopes.push(root.newSubManager());
        this.bf16 = bf16 ? Bf16Ops.load((PtNDManager) weights) : null;
        this.kernels = kernelsOff == null;
        this.kernelsOff = kernelsOff;
        this.pack = pack != null ? pack : CpuKernels.packsByDefault(isa, bf16 ? 2 : 4);
        this.isa = isa;
        this.kernelThreads = kernelThreads;
    }

    /** Opens the PyTorch engine on the CPU, float32, on the default threads. */
    public static DjlBackend cpu() {
        return cpu(false, 0);
    }

    /**
     * Opens the PyTorch engine on the CPU. {@code bf16}: weight matrices kept as bf16. {@code threads}: PyTorch's
     * intra- and inter-op pools (0: the cores this process may use), given to the engine before its first op.
     */
    public static DjlBackend cpu(boolean bf16, int threads) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        Boolean pack = packSetting();
        CpuThreads.beforeEngine(threads);
        Engine engine = Engine.getEngine("PyTorch");
        CpuThreads.afterEngine(threads);
        String setting = System.getProperty(KERNELS_PROPERTY, "");
        String off = kernelsOff(setting);
        int isa = -1, pool = 0;
        if (off == null) {
            pool = CpuKernels.useThreads(CpuThreads.resolve(threads));
            isa = CpuKernels.resolveIsa(setting.isEmpty() ? -1 : CpuKernels.ISAS.indexOf(setting));
        }
        return new DjlBackend(engine.newBaseManager(Device.cpu()), bf16, off, isa, pool, pack);
    }

    /**
     * {@code -Dsteer.cpu.kernels=}: empty (the default) for steer's kernels on the best instruction set this CPU has,
     * {@code off} for PyTorch's GEMM everywhere (the comparison BENCHMARKS.md makes), or a variant's name from
     * {@link CpuKernels#ISAS} to run that one (no better than the CPU has).
     */
    static final String KERNELS_PROPERTY = "steer.cpu.kernels";

    /** {@code -Dsteer.cpu.pack}: true for on, false for off, null for the default (see {@link #PACK_PROPERTY}). */
    private static Boolean packSetting() {
        String setting = System.getProperty(PACK_PROPERTY, "");
        if (setting.isEmpty()) return null;
        if (setting.equals("on")) return true;
        if (setting.equals("off")) return false;
        throw new dev.steer.engine.BadInputException("-D" + PACK_PROPERTY + ": expected on or off (or empty: where it is faster), got \"" + setting + "\"");
    }

    private static String kernelsOff(String setting) {
        if (setting.equals("off")) return "off (-D" + KERNELS_PROPERTY + "=off)";
        if (!CpuKernels.available()) return "unavailable: " + CpuKernels.problem();
        if (!setting.isEmpty() && !CpuKernels.ISAS.contains(setting))
            throw new dev.steer.engine.BadInputException("-D" + KERNELS_PROPERTY + ": expected off or one of " + String.join(", ", CpuKernels.ISAS) + " (or empty: the best), got \"" + setting + "\"");
        return null;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String device() {
        return "CPU (DJL " + Engine.getDjlVersion() + ", PyTorch " + Engine.getEngine("PyTorch").getVersion()
                + ", " + JniUtils.getNumThreads() + " threads of " + Runtime.getRuntime().availableProcessors() + " cores, "
                + (bf16 != null ? "bf16" : "f32") + " weights, decode products on "
                + (kernels ? "steer's " + CpuKernels.ISAS.get(isa) + " kernels" : "PyTorch") + ")";
    }

    /** The thread pools as PyTorch reports them, and what the weights take. */
    @Override
    public Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("intra_op_threads", JniUtils.getNumThreads());
        m.put("inter_op_threads", JniUtils.getNumInteropThreads());
        m.put("weight_dtype", bf16 != null ? "bf16" : "f32");
        m.put("weight_bytes", weightBytes);
        m.put("cpu_kernels", kernels ? CpuKernels.ISAS.get(isa) : kernelsOff);
        if (kernels) m.put("kernel_threads", kernelThreads);
        m.put("huge_page_advised_bytes", hugePageBytes);
        m.put("packed_weight_bytes", packedBytes);
        m.put("op_profile", profile.lines());
        return m;
    }

    /** Bytes per stored parameter: matrices dominate, so a bf16 backend counts 2. */
    private int bytesPerParameter() {
        return bf16 != null ? 2 : 4;
    }

    /** With the kernels: their pool's threads sum a fresh anonymous mapping with the widest loads the CPU has. */
    @Override
    public double readBandwidth(long bytes, int passes) {
        return kernels ? CpuKernels.readBandwidth(isa, bytes, passes) : Double.NaN;
    }

    /** With the kernels: their pool's threads read every weight matrix once where it lies. */
    @Override
    public double weightReadBandwidth(int passes) {
        if (!kernels || matrices.isEmpty()) return Double.NaN;
        long[] a = new long[matrices.size()], n = new long[matrices.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = matrices.get(i)[0];
            n[i] = matrices.get(i)[1];
        }
        return CpuKernels.readRegions(isa, a, n, passes);
    }

    @Override
    public long weightReadBytes() {
        long total = 0;
        for (long[] m : matrices) total += m[1] / 256 * 256;
        return total;
    }

    @Override
    public String readBandwidthMethod() {
        if (!kernels) return null;
        String name = CpuKernels.ISAS.get(isa);
        return "steer's kernels, " + (name.startsWith("avx512") ? "512-bit" : name.equals("avx2") ? "256-bit" : "64-bit") + " loads"
                + (name.equals("scalar") ? "" : ", one stream and 4 streams 8 or 32 KiB apart in turn");
    }

    @Override
    public void checkRoomForWeights(long parameters, String model) {
        HostMemory.checkRoom(model, parameters, bytesPerParameter(), bf16 != null ? "bf16" : "float32", HostMemory.availableBytes());
    }

    private NDManager current() {
        return scopes.peek();
    }

    private static NDArray nd(Tensor t) {
        return ((DjlTensor) t).array();
    }

    private Tensor out(NDArray a) {
        a.attach(current());
        return new DjlTensor(a);
    }

    @Override
    public Tensor weight(HostTensor source) {
        long[] shape = source.shape();
        long n = source.elementCount();
        boolean matrix = shape.length == 2;
        weightBytes += n * (matrix ? bytesPerParameter() : 4);
        // Allocated in torch and filled in row blocks through one reused direct buffer: the host never holds a
        // second copy of the tensor, and no per-block buffer waits for the GC.
        long rowLen = shape.length == 0 ? 1 : n / Math.max(1, shape[0]);
        long rows = shape.length == 0 ? 1 : shape[0];
        long rowsPerChunk = Math.max(1, CHUNK_ELEMENTS / Math.max(1, rowLen));
        int elementBytes = matrix && bf16 != null ? 2 : 4;
        // packed (see CpuKernels.pack) chunk by chunk right after each chunk's fill, while it is in cache: whole
        // 4-row blocks a chunk
        boolean packing = kernels && matrix && pack && CpuKernels.packable(rows, rowLen, elementBytes);
        if (packing) rowsPerChunk = Math.max(4, rowsPerChunk / 4 * 4);
        if (staging == null) staging = ByteBuffer.allocateDirect((int) (4 * Math.max(CHUNK_ELEMENTS, rowLen))).order(ByteOrder.nativeOrder());
        if (staging.capacity() < 4 * rowsPerChunk * rowLen) staging = ByteBuffer.allocateDirect((int) (4 * rowsPerChunk * rowLen)).order(ByteOrder.nativeOrder());
        IValue w16 = matrix && bf16 != null ? bf16.empty(shape[0], shape[1]) : null;
        NDArray w = w16 == null ? weights.create(new Shape(shape), DataType.FLOAT32) : null;
        long address = 0;
        if (kernels && matrix) {
            // the weight's memory is allocated but not yet touched: ask for 2 MiB pages before the fill below
            address = addressOf(w16 != null ? bf16.firstRow(w16) : w.get(new NDIndex("0:1")));
            long bytes = n * (w16 != null ? 2 : 4);
            if (CpuKernels.adviseHugePages(address, bytes) > 0) hugePageBytes += bytes;
            matrices.add(new long[] {address, bytes});
            if (w != null) addresses.put(w, address);
        }
        for (long r0 = 0; r0 < rows; r0 += rowsPerChunk) {
            long count = Math.min(rowsPerChunk, rows - r0);
            int len = (int) (count * rowLen);
            ByteBuffer bytes = staging.duplicate().order(ByteOrder.nativeOrder());
            bytes.clear().limit(4 * len);
            source.readFloats(r0 * rowLen, bytes.asFloatBuffer());
            long[] chunkShape = shape.clone();
            if (chunkShape.length > 0) chunkShape[0] = count;
            try (NDManager tmp = weights.newSubManager()) {
                NDArray chunk = tmp.create(bytes.slice().order(ByteOrder.nativeOrder()), new Shape(chunkShape), DataType.FLOAT32);
                if (w16 != null) bf16.fill(w16, r0, (PtNDArray) chunk);
                else if (shape.length == 0) w.set(new NDIndex(), chunk);
                else w.set(new NDIndex("{}:{}", r0, r0 + count), chunk);
            }
            if (packing) {
                int p = CpuKernels.pack(address + r0 * rowLen * elementBytes, elementBytes == 2 ? CpuKernels.W_BF16 : CpuKernels.W_F32, (int) count,
                        (int) rowLen);
                if (p < 0) throw new OutOfMemoryError("steercpu: a weight block's buffer (" + rowLen + " columns)");
                if (p == 0) throw new IllegalStateException("steercpu: no packed form for rows " + r0 + "+" + count + " of " + rowLen + " columns");
            }
        }
        if (packing) {
            packed.add(address);
            packedBytes += n * elementBytes;
        }
        // A norm weight's (1 + w) once here rather than in every rmsNorm call: one op less per norm.
        if (w16 == null && shape.length == 1) {
            NDArray onePlusW = w.add(1f);
            onePlusW.attach(weights);
            onePlus.put(w, onePlusW);
        }
        if (w16 == null) return new DjlTensor(w);
        bf16Weights.add(w16);
        return new Bf16Weight(w16, shape, address);
    }

    /** Where a contiguous view's data starts (the view is closed here). */
    private long addressOf(NDArray view) {
        try (NDManager tmp = weights.newSubManager()) {
            view.attach(tmp);
            return CpuKernels.address(JniUtils.getByteBuffer((PtNDArray) view, true));
        }
    }

    @Override
    public Scope openScope() {
        NDManager scope = current().newSubManager();
        scopes.push(scope);
        return new Scope() {
            @Override
            public Tensor keep(Tensor t) {
                NDManager parent = parentOf(scope);
                nd(t).attach(parent);
                return t;
            }

            @Override
            public void close() {
                if (scopes.peek() != scope) throw new IllegalStateException("scopes closed out of order");
                scopes.pop();
                scope.close();
            }
        };
    }

    private NDManager parentOf(NDManager scope) {
        boolean found = false;
        for (NDManager m : scopes) {
            if (found) return m;
            if (m == scope) found = true;
        }
        return root;
    }

    @Override
    public Tensor floats(float[] data, long... shape) {
        return new DjlTensor(current().create(data, new Shape(shape)));
    }

    @Override
    public Tensor ints(int[] data, long... shape) {
        long[] wide = new long[data.length];
        for (int i = 0; i < data.length; i++) wide[i] = data[i];
        return new DjlTensor(current().create(wide, new Shape(shape)));
    }

    private float[] toHost0(Tensor t) {
        long address = t instanceof Bf16Weight w ? w.address() : t instanceof DjlTensor d ? addresses.getOrDefault(d.array(), 0L) : 0L;
        if (packed.contains(address)) {
            // a packed matrix read back row by row: every row gathered as the embedding gathers them (times 1, exact)
            try (NDManager tmp = current().newSubManager()) {
                long rows = t.shape()[0];
                long[] all = new long[(int) rows];
                for (int i = 0; i < all.length; i++) all[i] = i;
                NDArray ids = tmp.create(all, new Shape(rows));
                NDArray f = nd(embed0(t, new DjlTensor(ids), 1f));
                f.attach(tmp);
                return f.toFloatArray();
            }
        }
        if (t instanceof Bf16Weight w) {
            try (NDManager tmp = current().newSubManager()) {
                NDArray f = bf16.rows(w.value(), 0, w.shape()[0]);
                f.attach(tmp);
                return f.toFloatArray();
            }
        }
        NDArray a = nd(t);
        if (a.getDataType() == DataType.FLOAT32) return a.toFloatArray();
        try (NDManager tmp = current().newSubManager()) {
            NDArray f = a.toType(DataType.FLOAT32, false);
            f.attach(tmp);
            return f.toFloatArray();
        }
    }

    private Tensor embed0(Tensor table, Tensor ids, float scale) {
        NDArray idx = nd(ids);
        long[] s = idx.getShape().getShape();
        long address = !kernels ? 0 : table instanceof Bf16Weight bw ? bw.address() : addresses.getOrDefault(nd(table), 0L);
        long[] ts = table.shape();
        if (address != 0) {
            // on the kernels, whatever the ids' shape and type (a packed table only they can read): at a decode step
            // PyTorch's gather, cast and multiply cost ~0.7 ms together (op profile); more ids than one call's output
            // buffer holds run in slices
            long n = idx.size(), most = Math.max(1, callBufferBytes / 4 / Math.max(1, ts[1]));
            NDArray flat = idx.getDataType() == DataType.INT64 ? idx.reshape(n, 1) : idx.toType(DataType.INT64, false).reshape(n, 1);
            long[] ys = java.util.Arrays.copyOf(s, s.length + 1);
            ys[s.length] = ts[1];
            if (n > most) return out(bySlices(flat, n, most, slice -> nd(embed0(table, new DjlTensor(slice), scale))).reshape(new Shape(ys)));
            NDArray y = current().create(new Shape(ys), DataType.FLOAT32);
            ByteBuffer idBytes = buffer(flat);
            int bad = CpuKernels.embed(address, wtype(table, address), (int) ts[0], (int) ts[1], idBytes, (int) n, buffer(y), scale);
            if (bad < 0) return new DjlTensor(y);
            // said here rather than by PyTorch's gather: for float32 it wraps a negative id to a row from the end, and
            // a packed table holds its rows interleaved
            throw idOutside(idBytes.order(ByteOrder.nativeOrder()).getLong(8 * bad), ts[0]);
        }
        // PyTorch's gather (kernels off) wraps a negative id to a row from the end for float32: checked first
        if (idx.size() > 0) {
            try (NDArray lo = idx.min(); NDArray hi = idx.max()) {
                long first = lo.toType(DataType.INT64, false).getLong(), last = hi.toType(DataType.INT64, false).getLong();
                if (first < 0 || last >= ts[0]) throw idOutside(first < 0 ? first : last, ts[0]);
            }
        }
        if (table instanceof Bf16Weight w) {
            NDArray rows = bf16.embed(w.value(), (PtNDArray) idx.reshape(-1));
            rows.attach(current());
            return out(rows.reshape(s[0], s[1], -1).mul(scale));
        }
        NDArray rows = nd(table).get(current(), new NDIndex("{}", idx.reshape(-1)));
        return out(rows.reshape(s[0], s[1], -1).mul(scale));
    }

    private static dev.steer.engine.BadInputException idOutside(long id, long rows) {
        return new dev.steer.engine.BadInputException("token id " + id + " is outside the model's " + rows
                + "-row embedding table: does the tokenizer match the checkpoint?");
    }

    /** Rows of a [..., F] activation (its elements over the last dimension). */
    private static long rows(NDArray a) {
        long[] s = a.getShape().getShape();
        long m = 1;
        for (int i = 0; i < s.length - 1; i++) m *= s[i];
        return m;
    }

    /**
     * Whether a row-wise op over {@code rows} rows runs on the kernels: every size with the kernels (rows are
     * computed one by one, so a row's result never depends on the rows beside it), within an int's count.
     */
    private boolean onKernels(long rows) {
        return kernels && rows <= Integer.MAX_VALUE;
    }

    private static ByteBuffer buffer(NDArray a) {
        return JniUtils.getByteBuffer((PtNDArray) a, true);
    }

    /** {@code 1 + w} of a norm weight: made at upload, or here (in the current scope) for another tensor. */
    private NDArray onePlus(Tensor w) {
        NDArray onePlusW = onePlus.get(nd(w));
        if (onePlusW == null) {
            onePlusW = nd(w).add(1f);
            onePlusW.attach(current());
        }
        return onePlusW;
    }

    /** At decode's few rows: the residual add and both norms in one kernel call (the PyTorch form: five ops). */
    @Override
    public Tensor[] addRmsNorm(Tensor h, Tensor x, Tensor wPost, Tensor wPre, float eps) {
        NDArray a = nd(x);
        long m = rows(a);
        if (!onKernels(m) || !a.getShape().equals(nd(h).getShape())) return Backend.super.addRmsNorm(h, x, wPost, wPre, eps);
        long t0 = System.nanoTime();
        NDArray res = current().create(a.getShape(), DataType.FLOAT32), y = current().create(a.getShape(), DataType.FLOAT32);
        CpuKernels.addRmsNorm(buffer(nd(h)), buffer(a), buffer(onePlus(wPost)), buffer(onePlus(wPre)), buffer(res), buffer(y), (int) m,
                (int) a.getShape().get(a.getShape().dimension() - 1), eps);
        profile.add(OpProfile.Op.RMS_NORM, t0);
        return new Tensor[] {new DjlTensor(res), new DjlTensor(y)};
    }

    private Tensor rmsNorm0(Tensor x, Tensor w, float eps) {
        NDArray a = nd(x);
        NDArray onePlusW = onePlus(w);
        long m = rows(a);
        if (onKernels(m)) {
            NDArray y = current().create(a.getShape(), DataType.FLOAT32);
            CpuKernels.rmsNorm(buffer(a), buffer(onePlusW), buffer(y), (int) m, (int) a.getShape().get(a.getShape().dimension() - 1), eps);
            return new DjlTensor(y);
        }
        NDArray ms = a.square().mean(new int[] {-1}, true);
        return out(a.div(ms.add(eps).sqrt()).mul(onePlusW));
    }

    /** {@code f} over the slices of at most {@code most} rows of {@code flat} ({@code n} rows), joined again along rows. */
    private static NDArray bySlices(NDArray flat, long n, long most, java.util.function.UnaryOperator<NDArray> f) {
        NDList parts = new NDList();
        for (long r0 = 0; r0 < n; r0 += most) parts.add(f.apply(flat.get(new NDIndex("{}:{}", r0, Math.min(n, r0 + most)))));
        return NDArrays.concat(parts, 0);
    }

    /** The kernels' weight type of a matrix at {@code address}: float32 or bf16, and whether packed. */
    private int wtype(Tensor w, long address) {
        return (w instanceof Bf16Weight ? CpuKernels.W_BF16 : CpuKernels.W_F32) | (packed.contains(address) ? CpuKernels.W_PACKED : 0);
    }

    private Tensor linear0(Tensor x, Tensor w) {
        NDArray a = nd(x);
        // With the kernels every product runs on them, whatever its rows: a row's result then never depends on the
        // rows beside it (batch composition, prefill or decode), and bf16 means one arithmetic (see CpuKernels).
        long address = !kernels ? 0 : w instanceof Bf16Weight bw ? bw.address() : addresses.getOrDefault(nd(w), 0L);
        long[] xs = a.getShape().getShape(), ws = w.shape();
        long m = rows(a);
        long most = Math.max(1, callBufferBytes / 4 / Math.max(ws[0], ws[1]));
        if (address != 0 && xs[xs.length - 1] == ws[1] && m <= most) {
            long[] ys = xs.clone();
            ys[ys.length - 1] = ws[0];
            NDArray y = current().create(new Shape(ys), DataType.FLOAT32);
            CpuKernels.gemv(isa, address, wtype(w, address), buffer(a), buffer(y), (int) m, (int) ws[0], (int) ws[1]);
            return new DjlTensor(y);
        }
        if (address != 0 && xs[xs.length - 1] == ws[1]) {
            // more rows than one call's buffers hold: in slices of rows, still on the kernels (a packed matrix PyTorch
            // cannot read; and a row's result stays the same whatever rows come with it)
            long[] ys = xs.clone();
            ys[ys.length - 1] = ws[0];
            return out(bySlices(a.reshape(m, ws[1]), m, most, slice -> nd(linear0(new DjlTensor(slice), w))).reshape(new Shape(ys)));
        }
        if (w instanceof Bf16Weight b) return out(bf16.linear((PtNDArray) a, b.value()));
        NDList r = a.getNDArrayInternal().linear(a, nd(w), null);
        return out(r.singletonOrThrow());
    }

    private Tensor add0(Tensor a, Tensor b) {
        return out(nd(a).add(nd(b)));
    }

    private Tensor geluTanhMul0(Tensor gate, Tensor up) {
        NDArray g = nd(gate);
        // gelu_pytorch_tanh: 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))
        NDArray inner = g.pow(3).mul(0.044715f).add(g).mul((float) Math.sqrt(2.0 / Math.PI));
        return out(inner.tanh().add(1f).mul(g).mul(0.5f).mul(nd(up)));
    }

    private Tensor softcap0(Tensor x, float cap) {
        NDArray a = nd(x);
        long m = rows(a);
        if (onKernels(m) && a.getShape().size() <= Integer.MAX_VALUE / 4) {
            NDArray y = current().create(a.getShape(), DataType.FLOAT32);
            CpuKernels.softcap(isa, buffer(a), buffer(y), (int) m, (int) a.getShape().get(a.getShape().dimension() - 1), cap);
            return new DjlTensor(y);
        }
        return out(nd(x).div(cap).tanh().mul(cap));
    }

    /**
     * Packed q/k/v and gate/up weights: one linear call (one pass over a bigger matrix) instead of three and two, 105
     * linear calls a gemma-2-2b step instead of 183; the outputs are split by views.
     */
    @Override
    public boolean packsProjections() {
        return true;
    }

    @Override
    public Tensor attentionPacked(Tensor qkv, RopeTable rope, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        NDArray a = nd(qkv);
        DjlKvCache c = (DjlKvCache) cache;
        // decode steps (one new position a row, whatever the batch) on the kernels; prefill's attention stays on PyTorch
        if (kernels && layout.steps() == 1 && c.fitsKernels(layout.batch(), spec.kvHeads(), spec.headDim())) {
            long t0 = System.nanoTime();
            // the kernel writes slots past .. past + T of the cache in place: never past its end
            if (layout.past() + layout.steps() > c.capacity())
                throw new IllegalStateException("KV cache of " + c.capacity() + " slots, step writes slots " + layout.past() + ".." + (layout.past() + layout.steps() - 1));
            long[] kv = c.addresses(layer, layout.batch(), spec.kvHeads(), spec.headDim());
            NDArray y = current().create(new Shape(layout.batch(), layout.steps(), (long) spec.heads() * spec.headDim()), DataType.FLOAT32);
            CpuKernels.attentionPacked(isa, buffer(a), ((DjlRope) rope).tableBuffer(), kv[0], kv[1], buffer(y), layout.padLeft(), layout.batch(),
                    layout.steps(), layout.past(), c.capacity(), spec.heads(), spec.kvHeads(), spec.headDim(), spec.scale(), spec.softcap(),
                    spec.window());
            profile.add(OpProfile.Op.ATTENTION, t0);
            return new DjlTensor(y);
        }
        long q = (long) spec.heads() * spec.headDim(), kv = (long) spec.kvHeads() * spec.headDim();
        Tensor qt = rope(out(a.get(new NDIndex("..., :{}", q))), spec.heads(), spec.headDim(), rope);
        Tensor kt = rope(out(a.get(new NDIndex("..., {}:{}", q, q + kv))), spec.kvHeads(), spec.headDim(), rope);
        return attention(qt, kt, out(a.get(new NDIndex("..., {}:", q + kv))), cache, layer, layout, spec);
    }

    /**
     * A decode step's consecutive layers (one or more) in one call of the kernels (see {@link CpuKernels#decodeLayers}):
     * the same functions as the ops one by one, without a tensor, a JNI call and DJL's dispatch for each op (each ~100
     * us with the caches a product's weight stream just emptied: measured, BENCHMARKS.md), and the Java side of a call
     * (~130 us) once for them all. Null (the ops one by one) off the kernels, at prefill, where a weight is not on the
     * kernels, or where the layers' attention or MLP shapes differ.
     */
    @Override
    public Tensor[] decodeLayers(PackedLayer[] w, Tensor h, Tensor n, Tensor[] nextNorms, RopeTable rope, KvCache cache, int first,
                                 StepLayout layout, AttentionSpec[] specs, float eps) {
        int count = w.length;
        if (count == 0 || nextNorms.length != count || specs.length != count) return null;
        AttentionSpec s0 = specs[0];
        int hidden = decodeHidden(h, n, cache, layout, s0);
        if (hidden < 0) return null;
        long[] at = new long[4 * count], norms = new long[4 * count], keys = new long[count], values = new long[count];
        int[] wtypes = new int[count], windows = new int[count];
        int inner = -1;
        DjlKvCache c = (DjlKvCache) cache;
        for (int i = 0; i < count; i++) {
            AttentionSpec s = specs[i];
            LayerCall lc = layerCall(w[i], hidden, s);
            if (lc == null || s.heads() != s0.heads() || s.kvHeads() != s0.kvHeads() || s.headDim() != s0.headDim()
                    || s.scale() != s0.scale() || s.softcap() != s0.softcap() || (inner >= 0 && lc.inner() != inner))
                return null;
            inner = lc.inner();
            System.arraycopy(lc.at(), 0, at, 4 * i, 4);
            wtypes[i] = lc.wtypes();
            windows[i] = s.window();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long[] kv = c.addresses(first + i, layout.batch(), s0.kvHeads(), s0.headDim());
            keys[i] = kv[0];
            values[i] = kv[1];
            Tensor[] ns = {w[i].postAttnNorm(), w[i].preFfnNorm(), w[i].postFfnNorm(), nextNorms[i]};
            for (int k = 0; k < 4; k++) norms[4 * i + k] = CpuKernels.address(normBuffer(ns[k]));
        }
        // the norms' and the rotary table's buffers are made once, the outputs carry theirs to the next call
        NDArray hOut = current().create(nd(h).getShape(), DataType.FLOAT32), nOut = current().create(nd(h).getShape(), DataType.FLOAT32);
        ByteBuffer hb = buffer(hOut), nb = buffer(nOut);
        CpuKernels.decodeLayers(isa, count, at, wtypes, bufferOf(h), bufferOf(n), norms, ((DjlRope) rope).tableBuffer(), keys, values,
                layout.padLeft(), hb, nb, layout.batch(), layout.past(), c.capacity(), hidden, s0.heads(), s0.kvHeads(), s0.headDim(), inner,
                s0.scale(), s0.softcap(), windows, eps);
        profile.add(OpProfile.Op.DECODE_LAYERS, t0);
        return new Tensor[] {new DjlTensor(hOut, hb), new DjlTensor(nOut, nb)};
    }

    /** A layer's matrices as a decode-layer call takes them: their addresses, weight types and the MLP's inner width. */
    private record LayerCall(long[] at, int wtypes, int inner) {
    }

    /**
     * The hidden width of a decode step's h [B, 1, hidden] where the kernels can run its layers (one new position a
     * row, the cache within the kernels' sizes and with room for it), else -1.
     */
    private int decodeHidden(Tensor h, Tensor n, KvCache cache, StepLayout layout, AttentionSpec spec) {
        DjlKvCache c = (DjlKvCache) cache;
        if (!kernels || layout.steps() != 1 || !c.fitsKernels(layout.batch(), spec.kvHeads(), spec.headDim())) return -1;
        long[] hs = nd(h).getShape().getShape();
        if (hs.length != 3 || hs[0] != layout.batch() || hs[1] != 1 || !nd(n).getShape().equals(nd(h).getShape())) return -1;
        if (layout.past() + 1 > c.capacity())
            throw new IllegalStateException("KV cache of " + c.capacity() + " slots, step writes slot " + layout.past());
        return (int) hs[2];
    }

    /** Layer w's call, or null where one of its matrices is not on the kernels or their shapes are not the layer's. */
    private LayerCall layerCall(PackedLayer w, int hidden, AttentionSpec spec) {
        Tensor[] mats = {w.qkv(), w.o(), w.gateUp(), w.down()};
        long[] at = new long[4];
        boolean b16 = mats[0] instanceof Bf16Weight;
        for (int i = 0; i < 4; i++) {
            if ((mats[i] instanceof Bf16Weight) != b16) return null;
            at[i] = b16 ? ((Bf16Weight) mats[i]).address() : addresses.getOrDefault(nd(mats[i]), 0L);
            if (at[i] == 0) return null;
        }
        int heads = spec.heads(), kvh = spec.kvHeads(), d = spec.headDim();
        long inner = mats[2].shape()[0] / 2;
        boolean shapes = mats[0].shape()[0] == (long) (heads + 2 * kvh) * d && mats[0].shape()[1] == hidden
                && mats[1].shape()[0] == hidden && mats[1].shape()[1] == (long) heads * d
                && mats[2].shape()[1] == hidden && mats[3].shape()[0] == hidden && mats[3].shape()[1] == inner;
        if (!shapes) return null;
        int wtypes = b16 ? CpuKernels.W_BF16 : CpuKernels.W_F32;
        for (int i = 0; i < 4; i++)
            if (packed.contains(at[i])) wtypes |= 1 << (4 + i);
        return new LayerCall(at, wtypes, (int) inner);
    }

    private static ByteBuffer bufferOf(Tensor t) {
        ByteBuffer b = ((DjlTensor) t).buffer();
        return b != null ? b : buffer(nd(t));
    }

    /** {@code 1 + w} of a norm weight as a direct buffer: made once for a weight, else now. */
    private ByteBuffer normBuffer(Tensor w) {
        if (!onePlus.containsKey(nd(w))) return buffer(onePlus(w));
        return onePlusBuffers.computeIfAbsent(nd(w), a -> buffer(onePlus.get(a)));
    }

    @Override
    public Tensor geluTanhMulPacked(Tensor gateUp) {
        NDArray a = nd(gateUp);
        long inner = a.getShape().get(a.getShape().dimension() - 1) / 2;
        long m = rows(a);
        if (onKernels(m)) {
            long t0 = System.nanoTime();
            long[] ys = a.getShape().getShape();
            ys[ys.length - 1] = inner;
            NDArray y = current().create(new Shape(ys), DataType.FLOAT32);
            CpuKernels.geluTanhMulPacked(isa, buffer(a), buffer(y), (int) m, (int) inner);
            profile.add(OpProfile.Op.GELU_MUL, t0);
            return new DjlTensor(y);
        }
        return geluTanhMul(out(a.get(new NDIndex("..., :{}", inner))), out(a.get(new NDIndex("..., {}:", inner))));
    }

    /**
     * The table [B, T, 1, headDim] (cos, then sin, of each frequency); cos and sin [B, T, 1, headDim/2] as views of it
     * and the table as a direct buffer, each made when first asked for (decode steps on the kernels need only the buffer).
     */
    private static final class DjlRope implements RopeTable {
        private final NDArray table;
        private NDArray cos, sin;
        private ByteBuffer buffer;

        DjlRope(NDArray table) {
            this.table = table;
        }

        NDArray table() {
            return table;
        }

        NDArray cos() {
            if (cos == null) cos = table.get(new NDIndex("..., :{}", table.getShape().get(3) / 2));
            return cos;
        }

        NDArray sin() {
            if (sin == null) sin = table.get(new NDIndex("..., {}:", table.getShape().get(3) / 2));
            return sin;
        }

        ByteBuffer tableBuffer() {
            if (buffer == null) buffer = buffer(table);
            return buffer;
        }
    }

    private RotaryAngles angles;

    @Override
    public RopeTable ropeTable(StepLayout layout, int headDim, double theta) {
        if (angles == null || !angles.matches(headDim, theta)) angles = new RotaryAngles(headDim, theta);
        return new DjlRope(current().create(angles.table(layout.positions()), new Shape(layout.batch(), layout.steps(), 1, headDim)));
    }

    private Tensor rope0(Tensor x, int heads, int headDim, RopeTable table) {
        DjlRope r = (DjlRope) table;
        NDArray a = nd(x);
        long[] s = a.getShape().getShape();
        int half = headDim / 2;
        NDArray h = a.reshape(s[0], s[1], heads, headDim);
        NDArray x1 = h.get(new NDIndex("..., :{}", half));
        NDArray x2 = h.get(new NDIndex("..., {}:", half));
        NDArray lo = x1.mul(r.cos()).sub(x2.mul(r.sin()));
        NDArray hi = x2.mul(r.cos()).add(x1.mul(r.sin()));
        return out(lo.concat(hi, -1).reshape(s[0], s[1], heads * (long) headDim));
    }

    @Override
    public KvCache kvCache(int layers, int batch, int kvHeads, int headDim, int capacity) {
        return new DjlKvCache(root, layers, batch, capacity);
    }

    private Tensor attention0(Tensor q, Tensor k, Tensor v, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        DjlKvCache c = (DjlKvCache) cache;
        int b = layout.batch(), t = layout.steps(), d = spec.headDim(), kvh = spec.kvHeads();
        int group = spec.heads() / kvh;
        NDArray kNew = nd(k).reshape(b, t, kvh, d).transpose(0, 2, 1, 3);
        NDArray vNew = nd(v).reshape(b, t, kvh, d).transpose(0, 2, 1, 3);
        NDArray[] kv = c.write(layer, kNew, vNew, layout.past(), current());
        NDArray kAll = kv[0], vAll = kv[1];
        int slots = layout.past() + t;
        // q [B, T, H*D] -> [B, kvH, group, T, D]: query head i = kv * group + j reads kv head i / group.
        NDArray qh = nd(q).reshape(b, t, kvh, group, d).transpose(0, 2, 3, 1, 4);
        NDArray scores = qh.matMul(kAll.expandDims(2).transpose(0, 1, 2, 4, 3)).mul(spec.scale());
        if (spec.softcap() > 0) scores = scores.div(spec.softcap()).tanh().mul(spec.softcap());
        scores = scores.add(mask(layout, slots, spec.window()));
        NDArray probs = scores.softmax(-1);
        NDArray o = probs.matMul(vAll.expandDims(2)); // [B, kvH, group, T, D]
        return out(o.transpose(0, 3, 1, 2, 4).reshape(b, t, (long) spec.heads() * d));
    }

    /**
     * Masks of the step being run, by window, uploaded once a step (every layer with the same window shares one) into
     * a manager of their own that the next step's layout replaces.
     */
    private StepLayout maskLayout;
    private NDManager maskManager;
    private final Map<Integer, NDArray> masks = new HashMap<>();

    /** Additive mask [B, 1, 1, T, S]: 0 where key slot j is visible to query slot i, else {@link #MASKED}. */
    private NDArray mask(StepLayout layout, int slots, int window) {
        if (layout != maskLayout) {
            masks.clear();
            if (maskManager != null) maskManager.close();
            maskManager = root.newSubManager();
            maskLayout = layout;
        }
        return masks.computeIfAbsent(window, w -> maskManager.create(maskValues(layout, slots, w), new Shape(layout.batch(), 1, 1, layout.steps(), slots)));
    }

    private static float[] maskValues(StepLayout layout, int slots, int window) {
        int b = layout.batch(), t = layout.steps();
        float[] m = new float[b * t * slots];
        for (int r = 0; r < b; r++) {
            for (int s = 0; s < t; s++) {
                int i = layout.past() + s;
                for (int j = 0; j < slots; j++) {
                    boolean visible = j <= i && j >= layout.padLeft()[r] && (window <= 0 || i - j < window);
                    m[(r * t + s) * slots + j] = visible ? 0f : MASKED;
                }
            }
        }
        return m;
    }

    @Override
    public Tensor lastStep(Tensor x) {
        return out(nd(x).get(new NDIndex(":, -1, :")));
    }

    private SteerResult steer0(Tensor h, Tensor delta, Tensor mask, boolean norms) {
        NDArray a = nd(h);
        Tensor n = norms ? out(a.square().sum(new int[] {-1}).sqrt()) : null;
        if (delta == null) return new SteerResult(h, n);
        NDArray add = nd(mask).expandDims(-1).mul(nd(delta).expandDims(1));
        return new SteerResult(out(a.add(add)), n);
    }

    private int[] argmax0(Tensor logits) {
        long[] s = logits.shape();
        int rows = (int) s[0], cols = (int) s[s.length - 1];
        int[] best = new int[rows];
        if (kernels && logits instanceof DjlTensor t && t.array().getDataType() == DataType.FLOAT32 && (long) rows * cols <= Integer.MAX_VALUE / 4) {
            // where the logits lie: no copy of them to the heap (1 MB a row for gemma-2-2b's 256,000)
            ByteBuffer at = buffer(t.array());
            if (at.capacity() == 4L * rows * cols) {
                CpuKernels.argmax(at, rows, cols, best);
                return best;
            }
        }
        float[] v = toHost0(logits);
        for (int r = 0; r < rows; r++) {
            int bi = 0;
            float bv = v[r * cols];
            for (int c = 1; c < cols; c++) if (v[r * cols + c] > bv) { bv = v[r * cols + c]; bi = c; }
            best[r] = bi;
        }
        return best;
    }

    // Every op timed: PyTorch runs CPU ops synchronously, so an op's wall time is its cost, JNI and allocation included.
    @Override
    public float[] toHost(Tensor t) {
        long t0 = System.nanoTime();
        float[] r = toHost0(t);
        profile.add(OpProfile.Op.TO_HOST, t0);
        return r;
    }

    @Override
    public Tensor embed(Tensor table, Tensor ids, float scale) {
        long t0 = System.nanoTime();
        Tensor r = embed0(table, ids, scale);
        profile.add(OpProfile.Op.EMBED, t0);
        return r;
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        long t0 = System.nanoTime();
        Tensor r = rmsNorm0(x, w, eps);
        profile.add(OpProfile.Op.RMS_NORM, t0);
        return r;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w) {
        long t0 = System.nanoTime();
        Tensor r = linear0(x, w);
        profile.add(OpProfile.Op.LINEAR, t0);
        return r;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        long t0 = System.nanoTime();
        Tensor r = add0(a, b);
        profile.add(OpProfile.Op.ADD, t0);
        return r;
    }

    @Override
    public Tensor geluTanhMul(Tensor gate, Tensor up) {
        long t0 = System.nanoTime();
        Tensor r = geluTanhMul0(gate, up);
        profile.add(OpProfile.Op.GELU_MUL, t0);
        return r;
    }

    @Override
    public Tensor softcap(Tensor x, float cap) {
        long t0 = System.nanoTime();
        Tensor r = softcap0(x, cap);
        profile.add(OpProfile.Op.SOFTCAP, t0);
        return r;
    }

    @Override
    public Tensor rope(Tensor x, int heads, int headDim, RopeTable table) {
        long t0 = System.nanoTime();
        Tensor r = rope0(x, heads, headDim, table);
        profile.add(OpProfile.Op.ROPE, t0);
        return r;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        long t0 = System.nanoTime();
        Tensor r = attention0(q, k, v, cache, layer, layout, spec);
        profile.add(OpProfile.Op.ATTENTION, t0);
        return r;
    }

    @Override
    public SteerResult steer(Tensor h, Tensor delta, Tensor mask, boolean norms) {
        long t0 = System.nanoTime();
        SteerResult r = steer0(h, delta, mask, norms);
        profile.add(OpProfile.Op.STEER, t0);
        return r;
    }

    @Override
    public int[] argmax(Tensor logits) {
        long t0 = System.nanoTime();
        int[] r = argmax0(logits);
        profile.add(OpProfile.Op.ARGMAX, t0);
        return r;
    }

    @Override
    public void close() {
        while (!scopes.isEmpty()) scopes.pop().close();
        if (maskManager != null) maskManager.close();
        bf16Weights.forEach(IValue::close);
        if (bf16 != null) bf16.close();
        weights.close();
        root.close();
    }
}
