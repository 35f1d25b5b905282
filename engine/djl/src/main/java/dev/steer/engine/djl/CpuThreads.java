package dev.steer.engine.djl;

import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's intra-op (one op's parallel loops) and inter-op pools, both sized to the thread count asked for (0: the
 * cores this process may use, which on Linux respects its CPU affinity and cgroup quota, where PyTorch's own
 * default counts the machine's cores). The sizes go to DJL's engine properties before the engine starts, so they
 * hold from the first op; an engine this JVM already started is resized where PyTorch still allows it (the
 * intra-op pool always; the inter-op pool only before its first use).
 */
final class CpuThreads {
    private static final String INTRA = "ai.djl.pytorch.num_threads";
    private static final String INTER = "ai.djl.pytorch.num_interop_threads";

    private CpuThreads() {
    }

    static int resolve(int threads) {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    static void beforeEngine(int threads) {
        String n = Integer.toString(resolve(threads));
        System.setProperty(INTRA, n);
        System.setProperty(INTER, n);
    }

    static void afterEngine(int threads) {
        int n = resolve(threads);
        if (JniUtils.getNumThreads() != n) JniUtils.setNumThreads(n);
        if (JniUtils.getNumInteropThreads() != n) {
            try {
                JniUtils.setNumInteropThreads(n);
            } catch (RuntimeException e) {
                // PyTorch refuses once the pool has run work; the intra-op pool, which does the work here, is set.
            }
        }
    }
}
