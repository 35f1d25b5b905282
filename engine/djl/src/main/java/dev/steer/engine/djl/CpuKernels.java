package dev.steer.engine.djl;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * steer's own CPU kernels ({@code src/main/c/steercpu.c}, built by this module's pom with gcc into
 * {@code libsteercpu.so}): every linear product, RMSNorm, gelu and final softcap of the backend, and the attention of
 * decode steps (one new position a row), on one pool of native threads sized like PyTorch's; and the
 * read-bandwidth passes of bench's floor on the same pool. Each row's result is computed by one thread with the same
 * code whatever the rows beside it, so a row's output does not depend on the batch it runs in.
 *
 * <p>Why not PyTorch for these: at M = 1..8 rows PyTorch's CPU GEMM streamed a gemma-2-2b weight at about half the
 * read bandwidth the machine has, and its ops between the products cost 15-900 us each in dispatch (BENCHMARKS.md);
 * these loops stream each weight row once against activations held in cache. Every product runs here, whatever
 * its rows, so a row's result does not depend on the rows beside it; the cost is prefill with bf16 weights at
 * many rows, where PyTorch's oneDNN GEMM was about 2x faster (float32: these were faster at every M measured).
 *
 * <p>Where the library cannot load (another OS or CPU architecture, a build without gcc) {@link #available()} is
 * false with the reason in {@link #problem()}, and the backend runs every product on PyTorch as before.
 */
final class CpuKernels {
    /**
     * Instruction-set variants, best last; each call names the one to run (see {@link #resolveIsa}). They compute
     * the same products in different summation orders.
     */
    static final List<String> ISAS = List.of("scalar", "avx2", "avx512", "avx512_bf16");
    static final int W_F32 = 0, W_BF16 = 1;
    /** Or'd into a weight type: the matrix is in the packed layout {@link #pack} wrote. */
    static final int W_PACKED = 2;

    private static final String LIBRARY = "libsteercpu.so";
    private static final String problem = load();

    private CpuKernels() {
    }

    static boolean available() {
        return problem == null;
    }

    /** Why the kernels are not used, or null when they are. */
    static String problem() {
        return problem;
    }

    private static String load() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64")))
            return "built for linux x86-64 only (this is " + os + " " + arch + ")";
        URL url = CpuKernels.class.getResource(LIBRARY);
        if (url == null) return LIBRARY + " is not in the build (gcc missing when engine/djl was built?)";
        try {
            if (url.getProtocol().equals("file")) {
                System.load(Path.of(url.toURI()).toString());
            } else {
                Path tmp = Files.createTempFile("steer-cpu", ".so");
                try (InputStream in = url.openStream()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    System.load(tmp.toString());
                } finally {
                    Files.deleteIfExists(tmp);   // the loaded library stays mapped
                }
            }
            return null;
        } catch (IOException | java.net.URISyntaxException | UnsatisfiedLinkError e) {
            return "cannot load " + LIBRARY + ": " + e.getMessage();
        }
    }

    /** A variant as asked (an index into {@link #ISAS}; negative, or past what the CPU has: the best it has). */
    static native int resolveIsa(int isa);

    /** Resizes the pool (threads taking part in a product, the caller included); returns its size. */
    static native int useThreads(int threads);

    /** The address of a direct buffer's first byte. */
    static native long address(ByteBuffer direct);

    /** madvise(MADV_HUGEPAGE) over the whole 2 MiB pages inside the range: 1 done, 0 none inside, -1 refused. */
    static native int adviseHugePages(long address, long bytes);

    /**
     * {@code y [m, rows] = x [m, cols] · wᵀ} with the weight at {@code w} ({@link #W_F32} or {@link #W_BF16}, row
     * major), x and y direct float32 buffers; bf16 weights multiply x rounded to bf16, accumulating in float32.
     */
    static native void gemv(int isa, long w, int wtype, ByteBuffer x, ByteBuffer y, int m, int rows, int cols);

    /** {@code y = x / sqrt(mean(x²) + eps) · w1} over m rows of n (w1: one plus the norm's weight); direct float32 buffers. */
    static native void rmsNorm(ByteBuffer x, ByteBuffer w1, ByteBuffer y, int m, int n, float eps);

    /** {@code res = h + rmsNorm(x, w1post)}, {@code y = rmsNorm(res, w1pre)} over m rows of n, in one call. */
    static native void addRmsNorm(ByteBuffer h, ByteBuffer x, ByteBuffer w1post, ByteBuffer w1pre, ByteBuffer res, ByteBuffer y, int m, int n,
                                  float eps);

    /** {@code y = cap · tanh(x / cap)} over m rows of n. */
    static native void softcap(int isa, ByteBuffer x, ByteBuffer y, int m, int n, float cap);

    /** Rows of {@code [gate | up]} (2 · inner) to {@code gelu_pytorch_tanh(gate) · up} (inner). */
    static native void geluTanhMulPacked(int isa, ByteBuffer gateUp, ByteBuffer y, int m, int inner);

    /**
     * Gemma-2 attention of a step from packed q|k|v [B, T, (H + 2 kvH) D] with the rotary table [B, T, D] (cos then
     * sin of the D/2 frequencies): rotates q and k, writes k and v into the caches at {@code keys}/{@code values}
     * ([B, kvH, cap, D] float32) at slots past .. past + T, and writes [B, T, H D] into {@code out}. See
     * steercpu.c's attention_packed for the mask (left padding, window) and the softcap.
     */
    static native void attentionPacked(int isa, ByteBuffer qkv, ByteBuffer rope, long keys, long values, ByteBuffer out, int[] padLeft,
                                       int batch, int steps, int past, int capacity, int heads, int kvHeads, int headDim,
                                       float scale, float softcap, int window);

    /**
     * Whole Gemma-2 decoder layers of a decode step ({@code layers} consecutive ones, one new position a row,
     * {@code batch} rows) from the first one's input residual {@code h} and input norm {@code n} ([batch, hidden]
     * float32). Each layer: the packed products (qkv, o, gate|up, down), {@link #attentionPacked}'s attention (on its
     * cache), the residual adds between the norms (post-attention, pre-FFN, post-FFN: one plus the norm weights) and the
     * next norm; its output and that norm are the next layer's input (in scratch), the last one's written to
     * {@code hOut} and {@code nOut} = rmsNorm(hOut, next). The same functions the op-by-op calls run, so the same bits,
     * in one call. Per layer: {@code weights} 4 addresses (Wqkv, Wo, Wgu, Wdown), {@code wtypes} its weight type (packed
     * bits per matrix), {@code norms} the addresses of 4 direct buffers of 1 + w (post-attention, pre-FFN, post-FFN, the
     * next layer's input or the final norm), {@code keys}, {@code values} its cache's addresses, {@code windows} its
     * sliding window (0: none).
     */
    static native void decodeLayers(int isa, int layers, long[] weights, int[] wtypes, ByteBuffer h, ByteBuffer n, long[] norms,
                                    ByteBuffer rope, long[] keys, long[] values, int[] padLeft, ByteBuffer hOut, ByteBuffer nOut, int batch,
                                    int past, int capacity, int hidden, int heads, int kvHeads, int headDim, int inner, float scale,
                                    float softcap, int[] windows, float eps);

    /**
     * Rewrites the weight matrix {@code w [rows, cols]} ({@link #W_F32} or {@link #W_BF16}) in place into the packed
     * layout: blocks of 4 rows, the block's rows interleaved in 64-byte units, so the products read one sequential
     * stream and each activation vector serves 4 rows (steercpu.c, packed_index). 1: packed; 0: the shape has none
     * (rows not a multiple of 4 or columns of a unit), untouched; -1: no memory for the block buffer, untouched.
     * Every kernel reading the matrix must then be given {@code wtype | W_PACKED}; PyTorch must not read it.
     */
    static native int pack(long w, int wtype, int rows, int cols);

    /** Whether {@link #pack} has a form for the shape (steercpu.c's packable): 4-row blocks of whole 64-byte units. */
    static boolean packable(long rows, long cols, int elementBytes) {
        return rows > 0 && cols > 0 && rows <= Integer.MAX_VALUE && cols <= Integer.MAX_VALUE && rows % 4 == 0 && cols % (64 / elementBytes) == 0;
    }

    /**
     * Whether the kernels of instruction set {@code isa} (an index into {@link #ISAS}) read weights of
     * {@code elementBytes} faster packed than row by row, as measured (tools/bench/gemv-rows.c, gemma-2-2b's products
     * of a decode step against the read pass; BENCHMARKS.md): yes for AVX-512 (float32 and bf16, an AMD EPYC with
     * avx512_bf16, batches 2-8 well ahead, batch 1 level) and for AVX2 bf16 (an AMD EPYC Zen 3 without AVX-512:
     * batches 2-8 ahead by 8-20 points of the read pass, batch 1 by 3-6 in four runs); no for AVX2 float32 (the same
     * CPU: row by row, four weight rows at a time, x1.17-1.25 of packed at batches 2-8; since packed has its 1-row loop
     * it leads at batch 1, row by row x0.94-0.96 of it, but a matrix has one layout for every batch: BENCHMARKS.md,
     * seventh pass), nor for the plain C loop, which gains nothing from it.
     */
    static boolean packsByDefault(int isa, int elementBytes) {
        String name = isa < 0 || isa >= ISAS.size() ? "" : ISAS.get(isa);
        return name.startsWith("avx512") || name.equals("avx2") && elementBytes == 2;
    }

    /**
     * {@code out [n, hidden] = table[ids] * scale} (float32; bf16 rows widened exactly first) for int64 {@code ids}
     * from the weight at {@code table} ({@code vocab} rows); returns the position of the first id outside [0, vocab)
     * with nothing written, else -1.
     */
    static native int embed(long table, int wtype, int vocab, int hidden, ByteBuffer ids, int n, ByteBuffer out, float scale);

    /** The index of each of {@code rows} rows' largest value (of {@code cols}) into {@code out}: the lowest on ties, a NaN never larger. */
    static native void argmax(ByteBuffer x, int rows, int cols, int[] out);

    /** Read bandwidth of the pool's threads over the given regions read in place (a model's weights), bytes/s. */
    static native double readRegions(int isa, long[] addresses, long[] bytes, int passes);

    /** Read bandwidth of the pool's threads over a fresh buffer of {@code bytes}, best of {@code passes}, bytes/s. */
    static native double readBandwidth(int isa, long bytes, int passes);
}
