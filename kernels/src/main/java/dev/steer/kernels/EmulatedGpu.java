package dev.steer.kernels;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A "device" in host memory for {@link KernelEmulator}: allocations are malloc'd, copies are memcpy, work runs
 * when it is queued (so {@link #synchronize} has nothing to wait for). A repeated step is captured and replayed
 * through {@link StepGraph} like on a GPU, with the recorded launches in place of a CUDA graph, so replay bugs
 * (a kernel reading a per-step value from an argument rather than device memory) show here too.
 */
final class EmulatedGpu implements Gpu {
    /** Repeated steps are recorded and replayed as on a GPU, the records standing in for the CUDA graph. */
    private final StepGraph steps = new StepGraph();
    private final Map<Long, Pointer> blocks = new HashMap<>();
    private final AllocationMeter meter = new AllocationMeter();

    @Override
    public String name() {
        return "CPU kernel emulator";
    }

    @Override
    public String arch() {
        return "emulated";
    }

    @Override
    public void enter() {
    }

    @Override
    public long allocate(long bytes) {
        Pointer p = Pointer.malloc(Math.max(1, bytes));
        if (p == null || p.isNull()) throw new OutOfMemoryError("kernel emulator: malloc(" + bytes + ") failed");
        blocks.put(p.address(), p);
        meter.allocated(p.address(), bytes);
        return p.address();
    }

    @Override
    public void free(long address) {
        if (address == 0) return;
        Pointer p = blocks.remove(address);
        if (p == null) throw new IllegalStateException("kernel emulator: free of " + Long.toHexString(address) + ", not an allocation");
        meter.freed(address);
        Pointer.free(p);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        if (bytes <= 0) return;
        Copy c = new Copy(dst, src, bytes);
        if (steps.mode() != StepGraph.Mode.EAGER && !steps.admit(c)) return;
        c.run();
    }

    /** A recorded device-to-device copy. */
    record Copy(long dst, long src, long bytes) implements StepGraph.Work {
        @Override
        public void run() {
            Pointer.memcpy(new DeviceAddress(dst), new DeviceAddress(src), bytes);
        }
    }

    @Override
    public void upload(long dst, Pointer host, long bytes) {
        if (bytes > 0) Pointer.memcpy(new DeviceAddress(dst), host, bytes);
    }

    @Override
    public void download(Pointer host, long src, long bytes) {
        if (steps.mode() != StepGraph.Mode.EAGER)
            throw new IllegalStateException("device-to-host copy inside a repeated step: read results after the step ends");
        if (bytes > 0) Pointer.memcpy(host, new DeviceAddress(src), bytes);
    }

    /** The emulator's work is done when queued: the bytes are read now. */
    @Override
    public dev.steer.engine.backend.Pending<byte[]> downloadLater(long src, long bytes) {
        if (steps.mode() != StepGraph.Mode.EAGER)
            throw new IllegalStateException("device-to-host copy inside a repeated step: read results after the step ends");
        byte[] out = new byte[(int) bytes];
        if (bytes > 0) new BytePointer(new DeviceAddress(src)).capacity(bytes).get(out);
        return dev.steer.engine.backend.Pending.of(out);
    }

    @Override
    public void synchronize() {
    }

    /** Host time: the emulator runs work when it is queued. There is no cache to flush. */
    @Override
    public double[] time(Runnable work, int runs) {
        double[] out = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            work.run();
            out[i] = (System.nanoTime() - t0) / 1e3;
        }
        return out;
    }

    @Override
    public long peakAllocatedBytes() {
        return meter.peak();
    }

    @Override
    public StepGraph steps() {
        return steps;
    }

    @Override
    public BytePointer stagingBuffer(long bytes) {
        BytePointer b = new BytePointer(bytes);
        b.capacity(bytes);
        return b;
    }

    @Override
    public void freeStagingBuffer(BytePointer buffer) {
        buffer.close();
    }

    @Override
    public void close() {
        steps.close();
        for (Pointer p : blocks.values()) Pointer.free(p);
        blocks.clear();
    }
}
