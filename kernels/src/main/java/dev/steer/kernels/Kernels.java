package dev.steer.kernels;

/** The compiled kernel families, by kernel name: NVRTC modules ({@link KernelLibrary}) or the CPU emulation. */
interface Kernels extends AutoCloseable {
    /** The kernel named {@code name}; an {@link IllegalStateException} when no family declares it. */
    Kernel get(String name);

    /** Whether kernels are launched with programmatic dependent launch (asked for on sm_90+; never emulated). */
    default boolean programmatic() {
        return false;
    }

    @Override
    void close();
}
