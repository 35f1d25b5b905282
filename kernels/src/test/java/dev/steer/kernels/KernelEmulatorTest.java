package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/** The emulator's own guarantees: the barrier errors it reports, races it exposes, and the wrappers it writes. */
class KernelEmulatorTest {
    /** The emulator needs g++ and a JDK's jni.h: without them these tests skip and say why (CI's machine has both). */
    @org.junit.jupiter.api.BeforeAll
    static void emulatorAvailable() {
        String reason = CudaBackend.emulatorUnavailableReason();
        if (reason != null) System.out.println("KernelEmulatorTest skipped: " + reason);
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
    }

    @Test
    void aShuffleNotEveryLaneReachesIsAnErrorNotAHang() {
        try (FloatPointer out = new FloatPointer(64)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> KernelEmulator.run("probe_diverged_shuffle", 1, 1, 64, 0, new long[] {out.address()}));
            // both warps diverge alike; which one is caught first depends on the emulator's shuffled thread order
            assertTrue(e.getMessage().matches(".*probe_diverged_shuffle block \\(0, 0\\): warp [01]: 16 of 32 live lanes reached a warp shuffle.*"), e.getMessage());
        }
        // the fibers stopped mid-kernel are made again: the next launch runs normally
        float[] in = new float[128];
        for (int i = 0; i < in.length; i++) in[i] = i * 0.5f;
        assertArrayEquals(neighbours(in, 64), sharedNeighbour(in, 64, true));
    }

    @Test
    void aMissingBarrierShowsAsAWrongResult() {
        float[] in = new float[4 * 256];
        for (int i = 0; i < in.length; i++) in[i] = i + 1;
        float[] expected = neighbours(in, 256);
        assertArrayEquals(expected, sharedNeighbour(in, 256, true));
        float[] racy = sharedNeighbour(in, 256, false);
        int wrong = 0;
        for (int i = 0; i < racy.length; i++) if (racy[i] != expected[i]) wrong++;
        // threads run in a shuffled order, so about half read their neighbour's slot before it is written
        assertTrue(wrong > racy.length / 4, wrong + " of " + racy.length + " reads differ");
    }

    @Test
    void barriersCountOnlyLiveThreads() {
        float[] in = new float[256];
        double expected = 0;
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) Math.sin(i);
            if (i < 192) expected += in[i];
        }
        try (FloatPointer a = new FloatPointer(in); FloatPointer out = new FloatPointer(1)) {
            KernelEmulator.run("probe_early_exit_sum", 1, 1, 256, 0, new long[] {a.address(), out.address()});
            assertEquals(expected, out.get(0), 1e-5);
        }
    }

    @Test
    void wrappersPassEachArgumentSlotAsItsDeclaredType() {
        String tu = KernelEmulator.translationUnit("""
                extern "C" __global__ void k(const float* x, unsigned short* y,
                                             int n, float eps, long long m) {
                    extern __shared__ float smem[];
                }
                """);
        assertTrue(tu.contains("float* smem = (float*)emu::dynamic_shared();"), tu);
        assertTrue(tu.contains("void emu_k(void** a) { k(*reinterpret_cast<const float**>(a[0]), *reinterpret_cast<unsigned short**>(a[1]), "
                + "*reinterpret_cast<int*>(a[2]), *reinterpret_cast<float*>(a[3]), *reinterpret_cast<long long*>(a[4])); }"), tu);
        assertTrue(tu.contains("emu::register_kernel(\"k\", emu_k);"), tu);
    }

    @Test
    void anUnknownKernelOrBlockSizeIsAnError() {
        assertThrows(IllegalStateException.class, () -> KernelEmulator.run("no_such_kernel", 1, 1, 32, 0, new long[0]));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> KernelEmulator.run("probe_diverged_shuffle", 1, 1, 48, 0, new long[] {0}));
        assertTrue(e.getMessage().contains("block of 48 threads"), e.getMessage());
    }

    private static float[] neighbours(float[] in, int block) {
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) out[i] = in[(i / block) * block + (i % block + 1) % block];
        return out;
    }

    private static float[] sharedNeighbour(float[] in, int block, boolean barrier) {
        try (FloatPointer a = new FloatPointer(in); FloatPointer out = new FloatPointer(in.length)) {
            KernelEmulator.run("probe_shared_neighbour", in.length / block, 1, block, 0, new long[] {a.address(), out.address(), barrier ? 1 : 0});
            float[] r = new float[in.length];
            out.get(r);
            return r;
        }
    }
}
