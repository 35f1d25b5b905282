package dev.steer.kernels;

import static dev.steer.kernels.CudaException.check;
import static org.bytedeco.cuda.global.cudart.CU_STREAM_CAPTURE_MODE_RELAXED;
import static org.bytedeco.cuda.global.cudart.cuGraphDestroy;
import static org.bytedeco.cuda.global.cudart.cuGraphExecDestroy;
import static org.bytedeco.cuda.global.cudart.cuGraphInstantiate;
import static org.bytedeco.cuda.global.cudart.cuGraphLaunch;
import static org.bytedeco.cuda.global.cudart.cuStreamBeginCapture;
import static org.bytedeco.cuda.global.cudart.cuStreamEndCapture;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;

/**
 * CUDA-graph replay of a repeated decode step. The model's forward runs in Java every step as usual, so it stays
 * written once; what changes is what happens to the GPU work it queues:
 * <ul>
 *   <li>first step of a key: {@link Mode#EAGER} (kernels launched as they come; warms the arena and modules);</li>
 *   <li>second step: {@link Mode#CAPTURE}: launches, GEMMs and device copies go into a stream capture and are
 *       also recorded; the graph is instantiated and launched at {@link #end};</li>
 *   <li>later steps: {@link Mode#DRY}: nothing is launched; every launch is recorded, and at {@link #end} the
 *       records are compared with the captured ones. Equal (same kernels, same arguments, same addresses: the
 *       arena gives a repeated step the same addresses) → one {@code cuGraphLaunch}; different → the records
 *       run eagerly and the next step captures again.</li>
 * </ul>
 * Host-to-device uploads (token ids, rope tables, masks, the cache length) are never captured: in DRY mode they
 * are queued on the stream before the graph launch; during CAPTURE they go through a side path that completes
 * before the capture ends. Kernels therefore read every per-step value from device memory, never from a scalar
 * argument that changes between steps.
 */
final class StepGraph implements AutoCloseable {
    enum Mode { EAGER, CAPTURE, DRY }

    /** A unit of GPU work that can be compared with another and run eagerly. */
    interface Work {
        void run();
    }

    /** Null in the CPU emulation, where the "graph" is the captured records, replayed by running them. */
    private final CudaDevice device;
    private Mode mode = Mode.EAGER;
    private Object key;
    private int stepsOfKey;
    private boolean inStep;
    private CUgraph_st graph;
    private CUgraphExec_st exec;
    /** A graph of the current key exists (captured and launched once). */
    private boolean ready;
    private List<Work> captured = new ArrayList<>();
    private List<Work> current = new ArrayList<>();
    private long replays;
    private long mismatches;
    /** Host time of replayed steps from begin to the comparison's end (the Java forward recording its work). */
    private long stepStart;
    private long recordNanos;
    /** Host time replayed steps spent waiting for the device's earlier results (look-ahead), left out of recordNanos. */
    private long waitNanos;
    private long stepWait;

    StepGraph(CudaDevice device) {
        this.device = device;
    }

    /** For {@link EmulatedGpu}: capture records the work without running it; a launch runs the records. */
    StepGraph() {
        this(null);
    }

    Mode mode() {
        return mode;
    }

    /** True when the caller must launch {@code w} now (eager or capturing); records it when a step is open. */
    boolean admit(Work w) {
        if (mode == Mode.EAGER) return true;
        current.add(w);
        return mode == Mode.CAPTURE && device != null;
    }

    void begin(Object stepKey) {
        if (inStep) throw new IllegalStateException("a repeated step is already open");
        inStep = true;
        if (stepKey != key) {
            drop();
            key = stepKey;
            stepsOfKey = 0;
        }
        stepsOfKey++;
        current = new ArrayList<>(Math.max(16, captured.size()));   // a replay records as many as the capture
        stepStart = System.nanoTime();
        stepWait = 0;
        if (stepsOfKey == 1) {
            mode = Mode.EAGER;
        } else if (!ready) {
            mode = Mode.CAPTURE;
            if (device != null) check(cuStreamBeginCapture(device.stream, CU_STREAM_CAPTURE_MODE_RELAXED), "cuStreamBeginCapture");
        } else {
            mode = Mode.DRY;
        }
    }

    /** Whether the next {@link #begin} with {@code stepKey} will be a replay (DRY: work recorded, launched at end). */
    boolean willReplay(Object stepKey) {
        return !inStep && stepKey == key && ready;
    }

    void end() {
        if (!inStep) throw new IllegalStateException("no repeated step is open");
        inStep = false;
        Mode m = mode;
        mode = Mode.EAGER;
        switch (m) {
            case EAGER -> { }
            case CAPTURE -> {
                captured = current;
                if (device == null) {
                    ready = true;
                    launchRecords();
                    return;
                }
                graph = new CUgraph_st();
                check(cuStreamEndCapture(device.stream, graph), "cuStreamEndCapture");
                exec = new CUgraphExec_st();
                check(cuGraphInstantiate(exec, graph, 0), "cuGraphInstantiate");
                check(cuGraphLaunch(exec, device.stream), "cuGraphLaunch");
                ready = true;
            }
            case DRY -> {
                boolean same = current.equals(captured);
                recordNanos += System.nanoTime() - stepStart - stepWait;
                if (same) {
                    if (device == null) launchRecords();
                    else check(cuGraphLaunch(exec, device.stream), "cuGraphLaunch");
                    replays++;
                } else {
                    mismatches++;
                    for (Work w : current) w.run();
                    drop();
                }
            }
        }
    }

    /** The emulation's graph launch: the captured records, in order, with their captured arguments. */
    private void launchRecords() {
        for (Work w : captured) w.run();
    }

    /**
     * The host waited {@code nanos} for the device (a queued read's completion). Inside a step (look-ahead reads the
     * previous step's tokens while recording the next), that wait is the GPU's time, not the recording's: it is
     * counted apart.
     */
    void waited(long nanos) {
        if (!inStep || mode != Mode.DRY) return;
        stepWait += nanos;
        waitNanos += nanos;
    }

    /** Forgets the graph (a new generation, a closed cache). */
    void drop() {
        if (exec != null) check(cuGraphExecDestroy(exec), "cuGraphExecDestroy");
        if (graph != null) check(cuGraphDestroy(graph), "cuGraphDestroy");
        exec = null;
        graph = null;
        ready = false;
        captured = new ArrayList<>();
    }

    /** Steps replayed from a graph, and steps whose work differed from the capture (run eagerly instead). */
    long replays() {
        return replays;
    }

    long mismatches() {
        return mismatches;
    }

    /**
     * Mean host microseconds a replayed (or mismatched) step spent before its launch: the forward run in Java to
     * record the step's work, and the comparison with the capture, without the waits of {@link #waitMicrosPerStep}.
     * With look-ahead the window also holds the host's handling of the previous step's tokens and telemetry (read
     * back, appended, fed to this step), all while the GPU runs that step; without it, this time adds to every step
     * at batch 1 unless the GPU is still busy with the previous one. NaN before any.
     */
    double recordMicrosPerStep() {
        long steps = replays + mismatches;
        return steps == 0 ? Double.NaN : recordNanos / 1e3 / steps;
    }

    /**
     * Mean host microseconds a replayed step waited, between its begin and its launch, for the device's earlier
     * results: with look-ahead, the previous step's tokens (the GPU time the recording did not need to cover). 0
     * without look-ahead; NaN before any replayed step.
     */
    double waitMicrosPerStep() {
        long steps = replays + mismatches;
        return steps == 0 ? Double.NaN : waitNanos / 1e3 / steps;
    }

    /** Launches, GEMMs and device copies in the captured step (0 before a capture). */
    int capturedWork() {
        return captured.size();
    }

    @Override
    public void close() {
        drop();
    }
}
