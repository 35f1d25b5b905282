package dev.steer.kernels;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * What the CUDA backend needs of a device: raw memory, copies and one ordered queue of work. {@link CudaDevice}
 * on an NVIDIA GPU; {@link EmulatedGpu} runs the same kernel sources on the CPU (for tests and machines without
 * a GPU), where host and device memory are one.
 */
interface Gpu extends DeviceMemory, AutoCloseable {
    /** The device's name, e.g. {@code NVIDIA H100 80GB HBM3}. */
    String name();

    /** Architecture, e.g. {@code sm_90}; {@code emulated} for the CPU emulation. */
    String arch();

    /** Makes this device current on the calling thread (cheap when it already is). */
    void enter();

    /** Host to device; {@code host} may be reused once this returns, unless {@link #stagingBuffer} made it. */
    void upload(long dst, Pointer host, long bytes);

    /** Device to host; returns once the bytes are on the host. */
    void download(Pointer host, long src, long bytes);

    /**
     * Device to host, queued after the work already queued; the returned bytes are there once {@link
     * dev.steer.engine.backend.Pending#get} returns (it waits). Not inside a repeated step.
     */
    dev.steer.engine.backend.Pending<byte[]> downloadLater(long src, long bytes);

    /** Waits until every queued copy and kernel has finished. */
    void synchronize();

    /**
     * Device time in microseconds of each of {@code runs} runs of {@code work} (eager launches on this device's
     * queue), the L2 cache flushed before each run so that operands come from memory, as in a model step. For
     * choosing between kernels ({@link LinearPlan}); waits for the device.
     */
    double[] time(Runnable work, int runs);

    /** Most bytes held through {@link #allocate} at once. */
    long peakAllocatedBytes();

    /** CUDA-graph capture of repeated steps; null where the device has none. */
    StepGraph steps();

    /** A host buffer for uploads, page-locked where the device supports it. */
    BytePointer stagingBuffer(long bytes);

    void freeStagingBuffer(BytePointer buffer);

    @Override
    void close();
}
