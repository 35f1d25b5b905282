package dev.steer.kernels;

import static dev.steer.kernels.CudaException.check;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE;
import static org.bytedeco.cuda.global.cudart.CU_EVENT_DEFAULT;
import static org.bytedeco.cuda.global.cudart.CU_STREAM_NON_BLOCKING;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetCount;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetName;
import static org.bytedeco.cuda.global.cudart.cuEventCreate;
import static org.bytedeco.cuda.global.cudart.cuEventDestroy;
import static org.bytedeco.cuda.global.cudart.cuEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cuEventRecord;
import static org.bytedeco.cuda.global.cudart.cuEventSynchronize;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRelease;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cuMemAlloc;
import static org.bytedeco.cuda.global.cudart.cuMemAllocHost;
import static org.bytedeco.cuda.global.cudart.cuMemFree;
import static org.bytedeco.cuda.global.cudart.cuMemFreeHost;
import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoDAsync;
import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoHAsync;
import static org.bytedeco.cuda.global.cudart.cuMemcpyHtoDAsync;
import static org.bytedeco.cuda.global.cudart.cuMemsetD8Async;
import static org.bytedeco.cuda.global.cudart.cuStreamCreate;
import static org.bytedeco.cuda.global.cudart.cuStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cuStreamSynchronize;

import dev.steer.engine.BadInputException;
import java.nio.charset.StandardCharsets;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * One GPU through the CUDA driver API: its primary context (the one cuBLAS, a runtime-API library, also uses),
 * one non-blocking stream that every copy, kernel and GEMM of the backend is queued on, and raw memory.
 * Not thread-safe; a thread that calls in makes the context current first ({@link #enter}).
 */
final class CudaDevice implements Gpu {
    private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();
    /** Why the JavaCPP CUDA classes failed to load, remembered: later tries only see "Could not initialize class". */
    private static volatile String loadFailure;

    final int ordinal;
    final String name;
    final int major;
    final int minor;
    private final int handle;
    private final CUctx_st context;
    final CUstream_st stream;
    /** Uploads made while the main stream is being captured go here (a capture must not contain them). */
    private CUstream_st sideStream;
    /** Graph capture and replay of repeated decode steps; every launch and device copy asks it first. */
    final StepGraph steps = new StepGraph(this);
    private boolean closed;

    private CudaDevice(int ordinal, int handle, String name, int major, int minor, CUctx_st context, CUstream_st stream) {
        this.ordinal = ordinal;
        this.handle = handle;
        this.name = name;
        this.major = major;
        this.minor = minor;
        this.context = context;
        this.stream = stream;
    }

    /**
     * Opens device {@code ordinal}. No driver, no device, a bad ordinal, or CUDA libraries that do not load:
     * {@link BadInputException} starting with {@code --backend cuda:}, never a JVM crash.
     */
    static CudaDevice open(int ordinal) {
        try {
            int rc = cuInit(0);
            if (rc != 0) throw new BadInputException("--backend cuda: the CUDA driver did not start (cuInit: "
                    + CudaException.driverError(rc) + "); is there an NVIDIA GPU and driver?");
            int[] count = new int[1];
            check(cuDeviceGetCount(count), "cuDeviceGetCount");
            if (count[0] == 0) throw new BadInputException("--backend cuda: no CUDA device found");
            if (ordinal < 0 || ordinal >= count[0])
                throw new BadInputException("--backend cuda: device " + ordinal + " requested, but " + count[0] + " present (0.." + (count[0] - 1) + ")");
            int[] dev = new int[1];
            check(cuDeviceGet(dev, ordinal), "cuDeviceGet");
            int[] major = new int[1];
            int[] minor = new int[1];
            check(cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev[0]), "cuDeviceGetAttribute");
            check(cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev[0]), "cuDeviceGetAttribute");
            byte[] nameBytes = new byte[256];
            check(cuDeviceGetName(nameBytes, nameBytes.length, dev[0]), "cuDeviceGetName");
            int end = 0;
            while (end < nameBytes.length && nameBytes[end] != 0) end++;
            CUctx_st context = new CUctx_st();
            check(cuDevicePrimaryCtxRetain(context, dev[0]), "cuDevicePrimaryCtxRetain");
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CUstream_st stream = new CUstream_st();
            check(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            CudaDevice device = new CudaDevice(ordinal, dev[0], new String(nameBytes, 0, end, StandardCharsets.UTF_8),
                    major[0], minor[0], context, stream);
            CURRENT.set(device);
            return device;
        } catch (LinkageError e) {
            throw libraryFailure(e);
        } catch (CudaException e) {
            throw new BadInputException("--backend cuda: " + e.getMessage(), e);
        }
    }

    /**
     * The one-line reason a JavaCPP CUDA class failed to load (UnsatisfiedLinkError, NoClassDefFoundError,
     * ExceptionInInitializerError), as bad input naming the library that is missing.
     */
    static BadInputException libraryFailure(LinkageError e) {
        String reason = rootMessage(e);
        if (loadFailure == null && !reason.startsWith("Could not initialize class")) loadFailure = reason;
        if (loadFailure != null) reason = loadFailure;
        return new BadInputException("--backend cuda: cannot load the CUDA libraries (" + reason
                + "); it needs an NVIDIA driver and the CUDA 13 libraries (cudart, cuBLAS, NVRTC) on LD_LIBRARY_PATH", e);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        return m.replace('\n', ' ');
    }

    @Override
    public String name() {
        return name;
    }

    /** Arch name for NVRTC and the kernel cache, e.g. {@code sm_90}. */
    @Override
    public String arch() {
        return "sm_" + major + minor;
    }

    /** Makes this device's context current on the calling thread (cheap when it already is). */
    @Override
    public void enter() {
        if (CURRENT.get() != this) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
        }
    }

    private final AllocationMeter meter = new AllocationMeter();

    @Override
    public long allocate(long bytes) {
        try (LongPointer out = new LongPointer(1)) {
            check(cuMemAlloc(out, bytes), "cuMemAlloc(" + bytes + " bytes)");
            meter.allocated(out.get(), bytes);
            return out.get();
        }
    }

    /** Most bytes this process held through {@link #allocate} at once (cuBLAS workspaces not counted). */
    @Override
    public long peakAllocatedBytes() {
        return meter.peak();
    }

    /** Waits for queued work first: the memory may still be read by a kernel in flight. */
    @Override
    public void free(long address) {
        if (address == 0) return;
        synchronize();
        check(cuMemFree(address), "cuMemFree");
        meter.freed(address);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        if (bytes <= 0) return;
        if (steps.mode() != StepGraph.Mode.EAGER && !steps.admit(new Copy(this, dst, src, bytes))) return;
        check(cuMemcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync");
    }

    /** A recorded device-to-device copy. */
    record Copy(CudaDevice device, long dst, long src, long bytes) implements StepGraph.Work {
        @Override
        public void run() {
            check(cuMemcpyDtoDAsync(dst, src, bytes, device.stream), "cuMemcpyDtoDAsync");
        }
    }

    /**
     * Host to device. From pageable memory the call returns once the source has been staged, so the caller may
     * free it; from pinned memory the caller must {@link #synchronize} before reusing the buffer.
     */
    @Override
    public void upload(long dst, Pointer host, long bytes) {
        if (bytes <= 0) return;
        if (steps.mode() == StepGraph.Mode.CAPTURE) {
            // Not part of the graph: done now, on a side stream, before the captured work is ever launched.
            if (sideStream == null) {
                sideStream = new CUstream_st();
                check(cuStreamCreate(sideStream, CU_STREAM_NON_BLOCKING), "cuStreamCreate(side)");
            }
            check(cuMemcpyHtoDAsync(dst, host, bytes, sideStream), "cuMemcpyHtoDAsync(side)");
            check(cuStreamSynchronize(sideStream), "cuStreamSynchronize(side)");
            return;
        }
        check(cuMemcpyHtoDAsync(dst, host, bytes, stream), "cuMemcpyHtoDAsync");
    }

    /** Device to host; returns once the bytes are on the host. */
    @Override
    public void download(Pointer host, long src, long bytes) {
        if (steps.mode() != StepGraph.Mode.EAGER)
            throw new IllegalStateException("device-to-host copy inside a repeated step: read results after the step ends");
        if (bytes > 0) check(cuMemcpyDtoHAsync(host, src, bytes, stream), "cuMemcpyDtoHAsync");
        synchronize();
    }

    @Override
    public void synchronize() {
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** Page-locked buffers for queued downloads, reused (allocating pinned memory costs far more than the copy). */
    private final java.util.ArrayDeque<BytePointer> pinnedPool = new java.util.ArrayDeque<>();
    /** Their completion events, reused likewise (a decode step queues a few downloads; each needs one). */
    private final java.util.ArrayDeque<CUevent_st> eventPool = new java.util.ArrayDeque<>();

    /** An async copy into a pooled pinned buffer and an event after it; get() waits on the event. */
    @Override
    public dev.steer.engine.backend.Pending<byte[]> downloadLater(long src, long bytes) {
        if (steps.mode() != StepGraph.Mode.EAGER)
            throw new IllegalStateException("device-to-host copy inside a repeated step: read results after the step ends");
        enter();
        BytePointer buffer = null;
        for (BytePointer b : pinnedPool) if (b.capacity() >= bytes) { buffer = b; break; }
        if (buffer != null) pinnedPool.remove(buffer);
        else buffer = stagingBuffer(Math.max(4096, Long.highestOneBit(Math.max(1, bytes - 1)) << 1));
        CUevent_st event = pooledEvent();
        if (bytes > 0) check(cuMemcpyDtoHAsync(buffer, src, bytes, stream), "cuMemcpyDtoHAsync");
        check(cuEventRecord(event, stream), "cuEventRecord");
        BytePointer held = buffer;
        return new dev.steer.engine.backend.Pending<>() {
            private byte[] value;

            @Override
            public byte[] get() {
                if (value != null) return value;
                enter();
                long t = System.nanoTime();
                check(cuEventSynchronize(event), "cuEventSynchronize");
                steps.waited(System.nanoTime() - t);
                eventPool.add(event);
                value = new byte[(int) bytes];
                held.position(0).get(value);
                pinnedPool.add(held);
                return value;
            }
        };
    }

    private CUevent_st pooledEvent() {
        CUevent_st e = eventPool.poll();
        if (e != null) return e;
        e = new CUevent_st();
        check(cuEventCreate(e, CU_EVENT_DEFAULT), "cuEventCreate");
        return e;
    }

    /**
     * CUDA events around each run; before each, a memset of twice the L2 cache's size evicts what the last run
     * left there. The flush buffer is held only during the call (it shows in the peak memory figure).
     */
    @Override
    public double[] time(Runnable work, int runs) {
        enter();
        int[] l2 = new int[1];
        check(cuDeviceGetAttribute(l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, handle), "cuDeviceGetAttribute(L2)");
        long flushBytes = Math.max(2L * l2[0], 8L << 20);
        long flush = allocate(flushBytes);
        CUevent_st[] start = new CUevent_st[runs], stop = new CUevent_st[runs];
        try {
            for (int i = 0; i < runs; i++) {
                start[i] = new CUevent_st();
                stop[i] = new CUevent_st();
                check(cuEventCreate(start[i], CU_EVENT_DEFAULT), "cuEventCreate");
                check(cuEventCreate(stop[i], CU_EVENT_DEFAULT), "cuEventCreate");
            }
            for (int i = 0; i < runs; i++) {
                check(cuMemsetD8Async(flush, (byte) i, flushBytes, stream), "cuMemsetD8Async");
                check(cuEventRecord(start[i], stream), "cuEventRecord");
                work.run();
                check(cuEventRecord(stop[i], stream), "cuEventRecord");
            }
            check(cuEventSynchronize(stop[runs - 1]), "cuEventSynchronize");
            double[] out = new double[runs];
            float[] ms = new float[1];
            for (int i = 0; i < runs; i++) {
                check(cuEventElapsedTime(ms, start[i], stop[i]), "cuEventElapsedTime");
                out[i] = ms[0] * 1e3;
            }
            return out;
        } finally {
            for (int i = 0; i < runs; i++) {
                if (start[i] != null) cuEventDestroy(start[i]);
                if (stop[i] != null) cuEventDestroy(stop[i]);
            }
            free(flush);
        }
    }

    @Override
    public StepGraph steps() {
        return steps;
    }

    /** Pinned (page-locked) when the driver allows, so copies run at full PCIe speed; else pageable. */
    @Override
    public BytePointer stagingBuffer(long bytes) {
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            BytePointer host;
            if (cuMemAllocHost(out, bytes) == 0) {
                host = new BytePointer(out.get(0));
                pinned.add(host.address());
            } else {
                host = new BytePointer(bytes);
            }
            host.capacity(bytes);
            return host;
        }
    }

    private final java.util.Set<Long> pinned = new java.util.HashSet<>();

    @Override
    public void freeStagingBuffer(BytePointer buffer) {
        if (pinned.remove(buffer.address())) cuMemFreeHost(buffer);
        else buffer.close();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        enter();
        synchronize();
        steps.close();
        for (BytePointer b : pinnedPool) freeStagingBuffer(b);
        pinnedPool.clear();
        for (CUevent_st e : eventPool) cuEventDestroy(e);
        eventPool.clear();
        if (sideStream != null) check(cuStreamDestroy(sideStream), "cuStreamDestroy(side)");
        check(cuStreamDestroy(stream), "cuStreamDestroy");
        check(cuDevicePrimaryCtxRelease(handle), "cuDevicePrimaryCtxRelease");
        if (CURRENT.get() == this) CURRENT.remove();
    }
}
