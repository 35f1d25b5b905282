package dev.steer.kernels;

/**
 * The compiled kernel families, by kernel name: NVRTC modules ({@link KernelLibrary}) or the CPU emulation. Each op
 * family looks its kernels up once, when it is built, and keeps them: a launch never goes through a name, and each
 * kernel is one object, which {@link StepGraph}'s comparison of a replayed step with its capture relies on.
 */
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
