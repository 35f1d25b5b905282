package dev.steer.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The kernel families: one {@code .cu} file each under {@code dev/steer/kernels/}, all including {@link #HEADER}. */
public final class KernelSource {
    /** The shared header every family includes as {@code #include "common.cuh"}. */
    public static final String HEADER = "common.cuh";

    /** Every family, in the order the backend loads them. */
    public static final List<String> FAMILIES = List.of("embed", "rmsnorm", "rope", "attention", "elementwise", "steer", "argmax", "sample", "gemv");

    private KernelSource() {
    }

    /**
     * A kernel declaration, {@code extern "C" __global__ void [__launch_bounds__(...)] NAME(} (the CUDA guide's
     * placement of launch bounds): group 1 is the name, the match ends at the '('.
     */
    static final java.util.regex.Pattern KERNEL = java.util.regex.Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\s*\\([^)]*\\)\\s+)?(\\w+)\\s*\\(");

    /**
     * Preprocessor definitions every kernel is compiled with (NVRTC and the emulator alike, so both caches key on
     * them). Without {@code rowVectors} (STEER_ROW_VECTORS=0), {@code STEER_SCALAR_ROWS}: the norms, the steering
     * hook and greedy argmax take their element loops instead of the float4 register paths, the fallback should
     * those paths fail on a GPU.
     */
    static List<String> defines(boolean rowVectors) {
        return rowVectors ? List.of() : List.of("-DSTEER_SCALAR_ROWS");
    }

    /** The names of a source's {@code extern "C" __global__ void NAME(} kernels. */
    static List<String> kernelNames(String source) {
        List<String> names = new java.util.ArrayList<>();
        var m = KERNEL.matcher(source);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    /** Hex SHA-256 of {@code bytes}: the key of the kernel caches (NVRTC CUBINs, the emulator library). */
    static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Resource text of {@code file} (e.g. {@code attention.cu}). */
    public static String read(String file) {
        try (InputStream in = KernelSource.class.getResourceAsStream(file)) {
            if (in == null) throw new IllegalStateException("kernel source " + file + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + file, e);
        }
    }
}
