package dev.steer.kernels;

import dev.steer.engine.BadInputException;

/**
 * Every switch of the CUDA backend and its emulator, read once when a backend is opened and handed to the parts
 * that need it; a backend never changes them afterwards (to compare two settings, open two backends). README
 * documents the environment variables; bad values are one line of {@link BadInputException}.
 *
 * @param graphs          CUDA-graph decode (STEER_CUDA_GRAPHS=0: off, to compare, or to debug a kernel)
 * @param decodeAttention attention.cu's decode kernel for one-token steps (STEER_ATTN_DECODE=0: the general one)
 * @param fusedRope       rotary and cache write inside the decode kernel (STEER_ROPE_FUSED=0: rope_split_cache first)
 * @param geluTimed       the linear plan times the packed gate/up projection with its gelu (STEER_GELU_TIMED=0: alone)
 * @param gemv            the linear plan's setting, {@link LinearPlan#parse}'s form ({@code cublas}, {@code auto},
 *                        {@code c<C>w<W>}); null: the device's default (auto on a GPU, cuBLAS on the emulator).
 *                        STEER_GEMV, else the system property {@code steer.gemv}
 * @param packed          q/k/v and gate/up as one packed weight each (STEER_PACKED=0: separate)
 * @param rowVectors      float4 register paths for rows (STEER_ROW_VECTORS=0 compiles the element loops instead)
 * @param programmatic    programmatic dependent launch on sm_90+ (STEER_PDL=1; off by default)
 * @param profile         GPU time per kernel, printed at close (STEER_CUDA_PROFILE=1)
 * @param device          the GPU {@code --backend cuda} opens (STEER_CUDA_DEVICE; default 0)
 * @param emulatorThreads worker threads of the kernel emulator (STEER_EMU_THREADS; 0: one per core)
 * @param sampleSlices    slices per row for sampling; 0: sample.cu's rule (the self-check sets others)
 */
public record KernelSettings(boolean graphs, boolean decodeAttention, boolean fusedRope, boolean geluTimed, String gemv,
                             boolean packed, boolean rowVectors, boolean programmatic, boolean profile, int device,
                             int emulatorThreads, int sampleSlices) {
    /** Every switch at its default, whatever the environment says. */
    public static final KernelSettings DEFAULTS = new KernelSettings(true, true, true, true, null, true, true, false, false, 0, 0, 0);

    /** The switches as the environment (and, for STEER_GEMV, the system property steer.gemv) sets them. */
    public static KernelSettings fromEnvironment() {
        return new KernelSettings(defaultOn(System.getenv("STEER_CUDA_GRAPHS")), defaultOn(System.getenv("STEER_ATTN_DECODE")),
                defaultOn(System.getenv("STEER_ROPE_FUSED")), defaultOn(System.getenv("STEER_GELU_TIMED")),
                gemv(System.getenv("STEER_GEMV"), System.getProperty("steer.gemv")), defaultOn(System.getenv("STEER_PACKED")),
                defaultOn(System.getenv("STEER_ROW_VECTORS")), "1".equals(System.getenv("STEER_PDL")),
                "1".equals(System.getenv("STEER_CUDA_PROFILE")), deviceIndex(System.getenv("STEER_CUDA_DEVICE")),
                emulatorThreads(System.getenv("STEER_EMU_THREADS")), 0);
    }

    /** A switch that is on unless set to {@code 0}. */
    static boolean defaultOn(String value) {
        return !"0".equals(value);
    }

    /** STEER_GEMV wins over the property; each bad value names where it came from. */
    static String gemv(String env, String property) {
        if (env != null) return LinearPlan.parse(env, "STEER_GEMV").setting();
        return property == null ? null : LinearPlan.parse(property, "-Dsteer.gemv").setting();
    }

    private static int deviceIndex(String value) {
        try {
            return value == null ? 0 : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new BadInputException("STEER_CUDA_DEVICE: '" + value + "' is not a device index");
        }
    }

    /** As C's atoi reads it (the emulator's runtime did): leading digits, else 0, one thread per core. */
    private static int emulatorThreads(String value) {
        java.util.regex.Matcher m = value == null ? null : java.util.regex.Pattern.compile("\\s*([+-]?\\d{1,9})").matcher(value);
        return m != null && m.lookingAt() ? Math.max(0, Integer.parseInt(m.group(1))) : 0;
    }

    /** The linear plan this setting makes, for a GPU ({@code gpu}) or the emulator. */
    LinearPlan linearPlan(boolean gpu) {
        return LinearPlan.parse(gemv != null ? gemv : gpu ? "auto" : "0", "gemv");
    }

    public KernelSettings withDecodeAttention(boolean on) {
        return new KernelSettings(graphs, on, fusedRope, geluTimed, gemv, packed, rowVectors, programmatic, profile, device, emulatorThreads, sampleSlices);
    }

    public KernelSettings withFusedRope(boolean on) {
        return new KernelSettings(graphs, decodeAttention, on, geluTimed, gemv, packed, rowVectors, programmatic, profile, device, emulatorThreads, sampleSlices);
    }

    public KernelSettings withGeluTimed(boolean on) {
        return new KernelSettings(graphs, decodeAttention, fusedRope, on, gemv, packed, rowVectors, programmatic, profile, device, emulatorThreads, sampleSlices);
    }

    /** {@code setting}: STEER_GEMV's syntax (0 for cuBLAS, auto, or c<C>w<W>); a bad one is bad input. */
    public KernelSettings withGemv(String setting) {
        String g = LinearPlan.parse(setting, "gemv").setting();
        return new KernelSettings(graphs, decodeAttention, fusedRope, geluTimed, g, packed, rowVectors, programmatic, profile, device, emulatorThreads, sampleSlices);
    }

    public KernelSettings withPacked(boolean on) {
        return new KernelSettings(graphs, decodeAttention, fusedRope, geluTimed, gemv, on, rowVectors, programmatic, profile, device, emulatorThreads, sampleSlices);
    }

    public KernelSettings withSampleSlices(int slices) {
        return new KernelSettings(graphs, decodeAttention, fusedRope, geluTimed, gemv, packed, rowVectors, programmatic, profile, device, emulatorThreads, slices);
    }
}
