package dev.steer.kernels;

/** The raw device memory an {@link Arena} carves up; {@link CudaDevice} in production, a fake in unit tests. */
interface DeviceMemory {
    /** A fresh allocation of {@code bytes}; its address. */
    long allocate(long bytes);

    void free(long address);

    /** Device-to-device copy, ordered after all work already queued. */
    void copy(long dst, long src, long bytes);
}
