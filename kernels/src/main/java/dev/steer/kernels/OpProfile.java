package dev.steer.kernels;

import static dev.steer.kernels.CudaException.check;
import static org.bytedeco.cuda.global.cudart.cuEventCreate;
import static org.bytedeco.cuda.global.cudart.cuEventDestroy;
import static org.bytedeco.cuda.global.cudart.cuEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cuEventRecord;
import static org.bytedeco.cuda.global.cudart.cuEventSynchronize;

import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;

/**
 * GPU time per kernel and GEMM shape, measured with CUDA events around every eager launch (STEER_CUDA_PROFILE=1).
 * Each op then waits for the GPU, so a profiled run is slow: it tells where GPU time goes, not how fast a run is.
 * Printed to stderr when the backend closes.
 */
final class OpProfile {
    private final Map<String, double[]> totals = new TreeMap<>();
    private CUevent_st start;
    private CUevent_st stop;

    /** A profile when {@code on} (STEER_CUDA_PROFILE=1), else null: launches then skip the events entirely. */
    static OpProfile of(boolean on) {
        return on ? new OpProfile() : null;
    }

    private OpProfile() {
    }

    void begin(CUstream_st stream) {
        if (start == null) {
            start = new CUevent_st();
            stop = new CUevent_st();
            check(cuEventCreate(start, 0), "cuEventCreate");
            check(cuEventCreate(stop, 0), "cuEventCreate");
        }
        check(cuEventRecord(start, stream), "cuEventRecord");
    }

    void end(CUstream_st stream, String op) {
        check(cuEventRecord(stop, stream), "cuEventRecord");
        check(cuEventSynchronize(stop), "cuEventSynchronize");
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
        double[] t = totals.computeIfAbsent(op, k -> new double[2]);
        t[0] += ms[0];
        t[1]++;
    }

    /** The totals to stderr (nothing when no launch was timed); frees the events. */
    void print() {
        if (!totals.isEmpty()) {
            double all = totals.values().stream().mapToDouble(t -> t[0]).sum();
            System.err.printf("GPU time by op (events around each eager launch), total %.1f ms%n", all);
            totals.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0])).forEach(e ->
                    System.err.printf("  %-44s %10.2f ms %6.1f%% %9d calls %9.2f us/call%n", e.getKey(), e.getValue()[0],
                            100 * e.getValue()[0] / all, (long) e.getValue()[1], 1000 * e.getValue()[0] / e.getValue()[1]));
        }
        if (start != null) {
            cuEventDestroy(start);
            cuEventDestroy(stop);
            start = null;
        }
        totals.clear();
    }
}
