package dev.steer.kernels;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.RopeTable;
import dev.steer.engine.backend.RotaryAngles;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.tensor.Bf16;
import dev.steer.engine.tensor.HostTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * The engine's op set on an NVIDIA GPU: own kernels ({@code *.cu}, compiled by NVRTC at open) plus cuBLAS.
 * Activations are float32 in both precisions; weight matrices and the KV cache follow {@link Precision}.
 * Tensors live in an {@link Arena}; weights and KV caches have their own allocations. Every op is queued on one
 * stream; only {@link #toHost} and {@link #argmax} wait for the GPU. Single-threaded, like the model loop.
 */
public final class CudaBackend implements Backend {
    /** Arena chunks: large enough that a gemma-2-2b step at batch 64 needs only a few. */
    private static final long ARENA_CHUNK_BYTES = 256L << 20;

    private final String name;
    private final Gpu device;
    private final Precision precision;
    private final Kernels kernels;
    private final Linear gemm;
    private final Arena arena;
    private final WeightUpload upload;
    /** The host buffer of the per-step uploads (token ids, rotary rows, cache length and padding, sampling draws). */
    private final HostUploads uploads = new HostUploads();
    private final List<DeviceTensor> weights = new ArrayList<>();
    private final List<CudaKvCache> caches = new ArrayList<>();
    /** The op families, one per kernel source ({@code <family>.cu}). */
    private final EmbedOps embed;
    private final RmsNormOps norms;
    private final ElementwiseOps elementwise;
    private final RopeOps rope;
    private final AttentionOps attention;
    private final LinearOps linear;
    private final SteerOps steer;
    private final ArgmaxOps argmax;
    private final SampleOps sample;
    /** Null unless profiling (STEER_CUDA_PROFILE=1): GPU time per kernel, printed at close. */
    private final OpProfile profile;
    private boolean closed;
    /** CUDA-graph decode (see {@link KernelSettings#graphs}); never without a step graph. */
    private final boolean graphs;
    private final boolean packed;
    private final KernelSettings settings;

    private CudaBackend(CudaDevice device, Precision precision, Path kernelCache, KernelSettings settings, OpProfile profile) {
        this("cuda", device, precision, new KernelLibrary(device, kernelCache, settings, profile), new Gemm(device, profile), settings, profile);
    }

    /** {@code name}: what {@link #name()} reports ({@code cuda}, or {@code cuda-emu} for the emulator). */
    CudaBackend(String name, Gpu device, Precision precision, Kernels kernels, Linear gemm, KernelSettings settings, OpProfile profile) {
        this.name = name;
        this.device = device;
        this.precision = precision;
        this.kernels = kernels;
        this.gemm = gemm;
        this.profile = profile;
        this.arena = new Arena(device, ARENA_CHUNK_BYTES);
        this.upload = new WeightUpload(device);
        Outputs outputs = new Outputs(arena, precision == Precision.BF16);
        this.embed = new EmbedOps(kernels, outputs);
        this.norms = new RmsNormOps(kernels, outputs);
        this.elementwise = new ElementwiseOps(kernels, outputs);
        this.rope = new RopeOps(kernels, outputs);
        this.attention = new AttentionOps(kernels, rope, outputs, settings);
        this.linear = new LinearOps(kernels, device, gemm, elementwise, outputs, settings);
        this.steer = new SteerOps(kernels, outputs);
        this.argmax = new ArgmaxOps(kernels, outputs);
        this.sample = new SampleOps(kernels, device, uploads, outputs, settings);
        this.graphs = device.steps() != null && settings.graphs();
        this.packed = settings.packed();
        this.settings = settings;
    }

    /** The switches this backend was opened with. */
    public KernelSettings settings() {
        return settings;
    }

    /**
     * Another backend on the same device (or emulator) in the same precision, with {@code settings}: how a check
     * compares a switch's two positions, since a backend's switches never change once it is open.
     */
    public CudaBackend openLike(KernelSettings settings) {
        return device instanceof CudaDevice d ? open(d.ordinal, precision, settings) : emulated(precision, settings);
    }

    /** {@link #open(int, Precision, KernelSettings)} with the environment's settings. */
    public static CudaBackend open(int device, Precision precision) {
        return open(device, precision, KernelSettings.fromEnvironment());
    }

    /**
     * Opens GPU {@code device} (0 = first). No GPU, driver or CUDA libraries: {@link BadInputException}
     * ({@code --backend cuda: <reason>}), never a crash. Compiles the kernels (cached per architecture).
     */
    public static CudaBackend open(int device, Precision precision, KernelSettings settings) {
        CudaDevice d = CudaDevice.open(device);
        try {
            return new CudaBackend(d, precision, KernelLibrary.defaultCacheRoot(), settings, OpProfile.of(settings.profile()));
        } catch (LinkageError e) {
            // cuBLAS or NVRTC missing although the driver is there
            closeQuietly(d);
            throw CudaDevice.libraryFailure(e);
        } catch (RuntimeException e) {
            closeQuietly(d);
            throw e;
        }
    }

    /**
     * This backend with its kernels run by the CPU emulator ({@link KernelEmulator}) instead of a GPU: the same
     * kernel sources, launch shapes, arena, KV cache and op checks, with host memory as device memory and a plain
     * float32-accumulating GEMM in cuBLAS's place. For checking kernels and the CUDA path without a GPU; slow.
     * Needs g++ and a JDK's jni.h the first time (BadInputException otherwise).
     */
    public static CudaBackend emulated(Precision precision, KernelSettings settings) {
        EmulatedGpu gpu = new EmulatedGpu();
        return new CudaBackend("cuda-emu", gpu, precision, new KernelEmulator.Library(gpu.steps(), settings),
                new KernelEmulator.Matmul(gpu.steps()), settings, null);
    }

    /** {@link #emulated(Precision, KernelSettings)} with the environment's settings. */
    public static CudaBackend emulated(Precision precision) {
        return emulated(precision, KernelSettings.fromEnvironment());
    }

    /** Null when {@link #emulated} can run here, else why not (one line: no g++, or no JDK headers). */
    public static String emulatorUnavailableReason() {
        return KernelEmulator.unavailableReason(KernelSettings.fromEnvironment());
    }

    /** Null when a CUDA device can be opened here, else the one-line reason; never throws, never crashes. */
    public static String unavailableReason() {
        try (CudaDevice d = CudaDevice.open(0)) {
            return null;
        } catch (BadInputException e) {
            return e.getMessage();
        } catch (RuntimeException | LinkageError e) {
            return "--backend cuda: " + e;
        }
    }

    private static void closeQuietly(CudaDevice d) {
        try {
            d.close();
        } catch (RuntimeException ignored) {
            // the original failure is the one to report
        }
    }

    public Precision precision() {
        return precision;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String device() {
        return device.name() + " (" + device.arch() + ", " + precision.name().toLowerCase() + (graphs ? ", graph decode" : "") + ")";
    }

    /** Matrices in the precision's dtype; vectors (norm weights) always float32. */
    @Override
    public Tensor weight(HostTensor source) {
        device.enter();
        DType dtype = precision == Precision.BF16 && source.shape().length >= 2 ? DType.BF16 : DType.F32;
        DeviceTensor t = new DeviceTensor(0, dtype, source.shape(), null);
        t.address = device.allocate(t.bytes());
        weights.add(t);
        upload.stream(source, dtype, t.address);
        return t;
    }

    @Override
    public Scope openScope() {
        device.enter();
        return arena.open();
    }

    @Override
    public Tensor floats(float[] data, long... shape) {
        device.enter();
        checkCount(data.length, shape, "floats");
        DeviceTensor t = arena.allocate(DType.F32, shape);
        uploads.floats(device, t.address, data);
        return t;
    }

    @Override
    public Tensor ints(int[] data, long... shape) {
        device.enter();
        checkCount(data.length, shape, "ints");
        DeviceTensor t = arena.allocate(DType.I32, shape);
        uploads.ints(device, t.address, data);
        return t;
    }

    private static void checkCount(int length, long[] shape, String op) {
        if (DeviceTensor.elements(shape) != length)
            throw new IllegalArgumentException(op + ": " + length + " values for shape " + Arrays.toString(shape));
    }

    @Override
    public float[] toHost(Tensor t) {
        device.enter();
        DeviceTensor d = Operands.cast(t, "toHost");
        long n = d.elements();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("toHost: " + d + " is too large for one array");
        float[] out = new float[(int) n];
        switch (d.dtype) {
            case F32 -> {
                try (FloatPointer host = new FloatPointer(n)) {
                    device.download(host, d.address, d.bytes());
                    host.get(out);
                }
            }
            case I32 -> {
                int[] ints = new int[(int) n];
                try (IntPointer host = new IntPointer(n)) {
                    device.download(host, d.address, d.bytes());
                    host.get(ints);
                }
                for (int i = 0; i < ints.length; i++) out[i] = ints[i];
            }
            case BF16 -> {
                short[] shorts = new short[(int) n];
                try (ShortPointer host = new ShortPointer(n)) {
                    device.download(host, d.address, d.bytes());
                    host.get(shorts);
                }
                for (int i = 0; i < shorts.length; i++) out[i] = Bf16.toFloat(shorts[i]);
            }
        }
        return out;
    }

    /** In BF16 the scale is rounded to bf16 first, as Hugging Face casts the normalizer to the compute dtype. */
    @Override
    public Tensor embed(Tensor table, Tensor ids, float scale) {
        device.enter();
        return embed.embed(table, ids, precision == Precision.BF16 ? Bf16.round(scale) : scale);
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        device.enter();
        return norms.rmsNorm(x, w, eps);
    }

    /** One kernel for the add and both norms ({@code add_rmsnorm_f32}). */
    @Override
    public Tensor[] addRmsNorm(Tensor h, Tensor x, Tensor wPost, Tensor wPre, float eps) {
        device.enter();
        return norms.addRmsNorm(h, x, wPost, wPre, eps);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w) {
        device.enter();
        return linear.linear(x, w);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        device.enter();
        return elementwise.add(a, b);
    }

    @Override
    public Tensor geluTanhMul(Tensor gate, Tensor up) {
        device.enter();
        return elementwise.geluTanhMul(gate, up);
    }

    @Override
    public Tensor softcap(Tensor x, float cap) {
        device.enter();
        if (!(cap > 0)) throw new IllegalArgumentException("softcap: cap " + cap + " must be positive");
        return elementwise.softcap(x, cap);
    }

    private RotaryAngles angles;

    /** Host-computed table (see {@link RotaryAngles}), uploaded once per step. */
    @Override
    public RopeTable ropeTable(StepLayout layout, int headDim, double theta) {
        device.enter();
        if (angles == null || !angles.matches(headDim, theta)) angles = new RotaryAngles(headDim, theta);
        int[] positions = layout.positions();
        float[] table = angles.table(positions);
        DeviceTensor t = (DeviceTensor) floats(table, positions.length, headDim);
        return new CudaRopeTable(t, positions.length, headDim);
    }

    @Override
    public Tensor rope(Tensor x, int heads, int headDim, RopeTable table) {
        device.enter();
        if (!(table instanceof CudaRopeTable t)) throw new IllegalArgumentException("rope: table " + table + " was not made by this backend");
        return rope.rope(x, heads, headDim, t);
    }

    /** q/k/v and gate/up as packed weights: one GEMM each (unless {@link KernelSettings#packed} is off, for A/B runs). */
    @Override
    public boolean packsProjections() {
        return packed;
    }

    /** One kernel rotates q and writes the rotated keys and the values into the cache; then the attention kernel. */
    @Override
    public Tensor attentionPacked(Tensor qkv, RopeTable rope, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        device.enter();
        if (!(rope instanceof CudaRopeTable t)) throw new IllegalArgumentException("attentionPacked: table " + rope + " was not made by this backend");
        if (!(cache instanceof CudaKvCache c) || c.isClosed())
            throw new IllegalArgumentException("attentionPacked: cache " + cache + " is not an open cache of this backend");
        return attention.attentionPacked(qkv, t, c, layer, layout, spec);
    }

    @Override
    public Tensor geluTanhMulPacked(Tensor gateUp) {
        device.enter();
        return elementwise.geluTanhMulPacked(gateUp);
    }

    /** Where the linear plan streams gate/up with a gemv, gemv.cu's fused form computes the gelu too. */
    @Override
    public Tensor linearGeluTanhMulPacked(Tensor x, Tensor gateUp) {
        device.enter();
        return linear.linearGeluPacked(x, gateUp);
    }

    @Override
    public KvCache kvCache(int layers, int batch, int kvHeads, int headDim, int capacity) {
        device.enter();
        CudaKvCache c = new CudaKvCache(device, uploads, layers, batch, kvHeads, headDim, capacity,
                precision == Precision.BF16 ? DType.BF16 : DType.F32);
        caches.add(c);
        return c;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        device.enter();
        if (!(cache instanceof CudaKvCache c) || c.isClosed())
            throw new IllegalArgumentException("attention: cache " + cache + " is not an open cache of this backend");
        return attention.attention(q, k, v, c, layer, layout, spec);
    }

    @Override
    public Tensor lastStep(Tensor x) {
        device.enter();
        return elementwise.lastStep(x);
    }

    @Override
    public SteerResult steer(Tensor h, Tensor delta, Tensor mask, boolean norms) {
        device.enter();
        return steer.steer(h, null, delta, mask, norms);
    }

    /** One kernel: the residual add, the norms and the steering add in a single pass over the row. */
    @Override
    public SteerResult addSteer(Tensor h, Tensor update, Tensor delta, Tensor mask, boolean norms) {
        device.enter();
        return steer.steer(h, update, delta, mask, norms);
    }

    /** Decode steps are captured once as a CUDA graph and replayed (see {@link StepGraph}). */
    @Override
    public void beginRepeatedStep(Object key) {
        device.enter();
        if (!graphs) return;
        device.steps().begin(key);
    }

    @Override
    public void endRepeatedStep() {
        if (!graphs) return;
        device.steps().end();
    }

    @Override
    public java.util.Map<String, Object> stats() {
        java.util.Map<String, Object> s = new java.util.LinkedHashMap<>();
        s.put("graph_replays", graphReplays());
        s.put("graph_mismatches", graphMismatches());
        s.put("graph_step_launches", graphs ? device.steps().capturedWork() : 0);
        if (graphs && device.steps().replays() + device.steps().mismatches() > 0) {
            s.put("graph_host_us_per_replayed_step", Math.round(device.steps().recordMicrosPerStep() * 10) / 10.0);
            s.put("graph_wait_us_per_replayed_step", Math.round(device.steps().waitMicrosPerStep() * 10) / 10.0);
        }
        s.put("programmatic_launch", kernels.programmatic());
        s.put("linear_plan", linear.plan().setting());
        s.put("linear_choices", linear.plan().describe());
        return s;
    }

    /** How this backend computes bf16 linear layers, and what it chose so far (for the self-check). */
    public LinearPlan linearPlan() {
        return linear.plan();
    }

    /** cuBLASLt's algorithms for a bf16 linear of this shape (for the self-check). */
    public List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k) {
        device.enter();
        return linear.ltAlgorithms(m, n, k);
    }

    /** {@code x · wᵀ} by {@code method}, whatever the plan would choose (for the self-check); w must be bf16. */
    public Tensor linearBy(Tensor x, Tensor w, LinearPlan.Method method) {
        device.enter();
        return linear.linearBy(x, w, method);
    }

    /** Steps replayed from a CUDA graph so far, and steps that could not be (their work differed). */
    public long graphReplays() {
        return graphs ? device.steps().replays() : 0;
    }

    public long graphMismatches() {
        return graphs ? device.steps().mismatches() : 0;
    }

    @Override
    public long peakMemoryBytes() {
        return device.peakAllocatedBytes();
    }

    /** On the GPU ({@code sample.cu}); only the tokens come back to the host. */
    @Override
    public int[] sample(Tensor logits, double temperature, double topP, double[] uniforms) {
        device.enter();
        return downloadInts(sample.sampleQueued(logits, temperature, topP, uniforms), uniforms.length);
    }

    /** The sampling kernels and a queued copy of the tokens. */
    @Override
    public Pending<int[]> sampleLater(Tensor logits, double temperature, double topP, double[] uniforms) {
        device.enter();
        int rows = uniforms.length;
        long out = sample.sampleQueued(logits, temperature, topP, uniforms);
        if (rows == 0) return Pending.of(new int[0]);
        return ints(device.downloadLater(out, rows * 4L), rows);
    }

    private static Pending<int[]> ints(Pending<byte[]> bytes, int n) {
        return () -> {
            int[] ids = new int[n];
            java.nio.ByteBuffer.wrap(bytes.get()).order(java.nio.ByteOrder.nativeOrder()).asIntBuffer().get(ids);
            return ids;
        };
    }

    @Override
    public int[] argmax(Tensor logits) {
        device.enter();
        return downloadInts(argmax.argmaxQueued(logits), Operands.rows(logits));
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

    /** The argmax kernel and a queued copy of its result (see {@link Gpu#downloadLater}). */
    @Override
    public Pending<int[]> argmaxLater(Tensor logits) {
        device.enter();
        int rows = Operands.rows(logits);
        return ints(device.downloadLater(argmax.argmaxQueued(logits), rows * 4L), rows);
    }

    /** float32 tensors: a queued copy; other types are read now. */
    @Override
    public Pending<float[]> toHostLater(Tensor t) {
        device.enter();
        DeviceTensor d = Operands.cast(t, "toHostLater");
        if (d.dtype != DType.F32) return Pending.of(toHost(t));
        int n = (int) d.elements();
        Pending<byte[]> bytes = device.downloadLater(d.address, d.bytes());
        return () -> {
            float[] out = new float[n];
            java.nio.ByteBuffer.wrap(bytes.get()).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get(out);
            return out;
        };
    }

    /** With graph decode, once the key's graph is captured: the next step only records until it ends. */
    @Override
    public boolean recordsAhead(Object key) {
        return graphs && device.steps().willReplay(key);
    }

    @Override
    public Tensor intsLater(long... shape) {
        device.enter();
        return arena.allocate(DType.I32, shape);
    }

    /** An upload queued now: before the open step's graph launch, after the work already queued. */
    @Override
    public void setInts(Tensor t, int[] values) {
        device.enter();
        DeviceTensor d = Operands.cast(t, "setInts");
        if (d.dtype != DType.I32) throw new IllegalArgumentException("setInts: " + d + " is not an int tensor");
        checkCount(values.length, d.shape, "setInts");
        uploads.ints(device, d.address, values);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.enter();
        device.synchronize();
        if (profile != null) profile.print();
        for (CudaKvCache c : caches) c.close();
        for (DeviceTensor w : weights) device.free(w.address);
        weights.clear();
        arena.close();
        upload.close();
        uploads.close();
        gemm.close();
        kernels.close();
        device.close();
    }
}
