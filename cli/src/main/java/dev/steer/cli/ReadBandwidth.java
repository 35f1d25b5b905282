package dev.steer.cli;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The machine's multi-threaded memory read bandwidth, STREAM-style: threads sum disjoint slices of a buffer far
 * larger than the caches (512 MiB), best of several passes. A CPU decode step streams every weight once, so
 * {@code weight bytes / this} is the floor a step cannot beat; bench prints each CPU step against it.
 *
 * <p>The cpu backend's kernels have their own pass (see {@link #measure(dev.steer.engine.backend.Backend, int)}),
 * which reached 44-50 GB/s on the 2-core VM where this Java pass read 32-34: the Java pass is the fallback.
 *
 * <p>Summing longs with four independent accumulators keeps the loop load-bound (more than one 8-byte load a cycle),
 * so the figure is the memory system's, not the loop's. The buffer is native memory (jdk.unsupported's Unsafe,
 * whose raw loads run as fast as a heap array's) and is freed when the measurement ends: a heap array would stay
 * committed, in the process's resident set next to the weights loaded after it, and direct ByteBuffer reads
 * measured 2-3x slower.
 */
record ReadBandwidth(double bytesPerSecond, int threads, long bufferBytes, int passes, String method) {
    static final long BUFFER_BYTES = 512L << 20;
    static final int PASSES = 7;
    private static final sun.misc.Unsafe UNSAFE = unsafe();

    /**
     * The backend's own pass where it has one (the cpu backend's kernels: the threads its products run on, with
     * the widest loads the CPU has: 512-bit, 256-bit on AVX2), else this class's Java pass on {@code threads} threads.
     */
    static ReadBandwidth measure(dev.steer.engine.backend.Backend backend, int threads) {
        return measure(backend, threads, PASSES);
    }

    static ReadBandwidth measure(dev.steer.engine.backend.Backend backend, int threads, int passes) {
        double own = backend.readBandwidth(BUFFER_BYTES, passes);
        if (own > 0) return new ReadBandwidth(own, threads, BUFFER_BYTES, passes, backend.readBandwidthMethod());
        return measure(threads, passes);
    }

    static ReadBandwidth measure(int threads) {
        return measure(threads, PASSES);
    }

    static ReadBandwidth measure(int threads, int passes) {
        long base = UNSAFE.allocateMemory(BUFFER_BYTES);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "read-bandwidth");
            t.setDaemon(true);
            return t;
        });
        try {
            // first touch on the measuring threads (pages land near them), then the timed passes
            run(pool, threads, base, true);
            double best = 0;
            long sink = 0;
            for (int p = 0; p < passes; p++) {
                long t0 = System.nanoTime();
                sink += run(pool, threads, base, false);
                best = Math.max(best, BUFFER_BYTES / ((System.nanoTime() - t0) / 1e9));
            }
            if (sink == 42) System.out.print("");   // keeps the sums live
            return new ReadBandwidth(best, threads, BUFFER_BYTES, passes, "Java, 64-bit loads");
        } finally {
            pool.shutdownNow();
            UNSAFE.freeMemory(base);
        }
    }

    private static long run(ExecutorService pool, int threads, long base, boolean fill) {
        List<Future<Long>> parts = new ArrayList<>();
        long longs = BUFFER_BYTES / 8;
        for (int t = 0; t < threads; t++) {
            long lo = base + longs * t / threads * 8, hi = base + longs * (t + 1) / threads * 8;
            parts.add(pool.submit(() -> fill ? fill(lo, hi) : sum(lo, hi)));
        }
        long s = 0;
        try {
            for (Future<Long> f : parts) s += f.get();
        } catch (Exception e) {
            throw new IllegalStateException("read-bandwidth pass failed: " + e.getMessage(), e);
        }
        return s;
    }

    /** Addresses {@code lo .. hi}, 8-byte aligned. */
    private static long fill(long lo, long hi) {
        for (long p = lo; p < hi; p += 8) UNSAFE.putLong(p, p);
        return 0;
    }

    private static long sum(long lo, long hi) {
        long a = 0, b = 0, c = 0, d = 0;
        long p = lo;
        for (; p + 24 < hi; p += 32) {
            a += UNSAFE.getLong(p);
            b += UNSAFE.getLong(p + 8);
            c += UNSAFE.getLong(p + 16);
            d += UNSAFE.getLong(p + 24);
        }
        for (; p < hi; p += 8) a += UNSAFE.getLong(p);
        return a + b + c + d;
    }

    private static sun.misc.Unsafe unsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no sun.misc.Unsafe: " + e, e);
        }
    }

    double gbPerSecond() {
        return bytesPerSecond / 1e9;
    }

    /** The fastest a step that reads {@code bytes} once can be, in milliseconds. */
    double floorMillis(long bytes) {
        return bytes / bytesPerSecond * 1e3;
    }
}
