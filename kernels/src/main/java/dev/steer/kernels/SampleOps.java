package dev.steer.kernels;

import static dev.steer.kernels.Operands.f32;

import dev.steer.engine.backend.Tensor;
import java.util.Arrays;

/**
 * sample.cu: each row in slices (grid slices × rows), one launch per pass; the rows' probabilities (double), the
 * slices' partial sums and each row's search state are scratch in the current scope.
 */
final class SampleOps {
    /** Per-slice blocks: 8 warps (each thread keeps 16 doubles of digit sums in registers; SAMPLE_MAX_WARPS is 32). */
    private static final int SLICE_THREADS = 256;
    /** sample_start and sample_settle: one thread per row. */
    private static final int ROW_THREADS = 256;
    /** Bytes of sample.cu's per-row state (SampleRow; a static_assert there keeps it within). */
    private static final int ROW_BYTES = 256;
    /** Bins of a radix pass (SAMPLE_BINS: a 4-bit digit). */
    private static final int BINS = 16;
    /** Passes of sample_radix per search: 8 digits of the 32-bit key, then pass 8 counts the tokens at the key found. */
    private static final int RADIX_PASSES = 9;

    private final Kernel max;
    private final Kernel exp;
    private final Kernel pickIndex;
    private final Kernel start;
    private final Kernel radix;
    private final Kernel settle;
    private final Kernel nth;
    private final Gpu device;
    private final HostUploads uploads;
    private final Outputs outputs;
    /** Slices per row; 0: {@link #slices}'s rule. */
    private final int fixedSlices;

    SampleOps(Kernels kernels, Gpu device, HostUploads uploads, Outputs outputs, KernelSettings settings) {
        this.max = kernels.get("sample_max");
        this.exp = kernels.get("sample_exp");
        this.pickIndex = kernels.get("sample_pick_index");
        this.start = kernels.get("sample_start");
        this.radix = kernels.get("sample_radix");
        this.settle = kernels.get("sample_settle");
        this.nth = kernels.get("sample_nth");
        this.device = device;
        this.uploads = uploads;
        this.outputs = outputs;
        this.fixedSlices = settings.sampleSlices();
    }

    /**
     * Slices per row for sampling: about two blocks per multiprocessor of an H100 over the whole batch (264 / rows),
     * at most 64, and no slice under 2,048 tokens.
     */
    static int slices(int rows, int vocab) {
        int s = Math.min(64, (264 + rows - 1) / rows);
        s = Math.min(s, (vocab + 2047) / 2048);
        return Math.max(1, s);
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
        int vocab = (int) v, s = fixedSlices > 0 ? fixedSlices : slices(rows, vocab);
        long p = outputs.bytes(rows * v * 8);
        long sliceMax = outputs.bytes(rows * (long) s * 4), sliceMass = outputs.bytes(rows * (long) s * 8);
        long bins = outputs.bytes(2L * rows * s * BINS * 8), counts = outputs.bytes(2L * rows * s * 8);
        long state = outputs.bytes(rows * (long) ROW_BYTES);
        long draws = outputs.bytes(rows * 8L);
        long out = outputs.bytes(rows * 4L);
        uploads.doubles(device, draws, uniforms);
        int[] preset = new int[rows];
        Arrays.fill(preset, vocab - 1);          // the rule's answer when rounding leaves every search short
        uploads.ints(device, out, preset);
        int settleBlocks = (rows + ROW_THREADS - 1) / ROW_THREADS;
        max.ptr(x.address).ptr(sliceMax).i32(vocab).launch(s, rows, SLICE_THREADS, 0);
        exp.ptr(x.address).ptr(sliceMax).ptr(p).ptr(sliceMass).ptr(state).i32(vocab).f64(temperature)
                .launch(s, rows, SLICE_THREADS, 0);
        if (topP >= 1.0) {
            pickIndex.ptr(p).ptr(sliceMass).ptr(draws).ptr(out).i32(vocab).launch(s, rows, SLICE_THREADS, 0);
        } else {
            start.ptr(sliceMass).ptr(state).i32(rows).i32(s).f64(topP).launch(settleBlocks, 1, ROW_THREADS, 0);
            for (int which = 0; which < 2; which++) {
                for (int pass = 0; pass < RADIX_PASSES; pass++)
                    radix.ptr(x.address).ptr(p).ptr(sliceMass).ptr(bins).ptr(counts).ptr(state).i32(vocab)
                            .i32(which).i32(pass).launch(s, rows, SLICE_THREADS, 0);
                settle.ptr(counts).ptr(draws).ptr(state).i32(rows).i32(s).i32(which).f64(temperature)
                        .launch(settleBlocks, 1, ROW_THREADS, 0);
            }
            nth.ptr(x.address).ptr(counts).ptr(state).ptr(out).i32(vocab).launch(s, rows, SLICE_THREADS, 0);
        }
        return out;
    }
}
