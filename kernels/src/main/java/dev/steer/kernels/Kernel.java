package dev.steer.kernels;

import static dev.steer.kernels.CudaException.check;
import static org.bytedeco.cuda.global.cudart.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernelEx;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUlaunchAttribute;
import org.bytedeco.cuda.cudart.CUlaunchConfig;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * One {@code extern "C"} kernel and its argument slots. Arguments are set in declaration order, then
 * {@link #launch}: {@code kernel.ptr(x).ptr(out).i32(n).launch(rows, 1, 256, 0)}. They are kept in a Java array
 * (a 32-bit argument in the low half of its long, the layout of a little-endian 8-byte slot) and written to the
 * native slots only when the kernel really launches: a replayed decode step, which records its launches and
 * compares them with the captured ones, makes no native call per argument (BytePointer's put and get are JNI
 * calls). Each slot is its own 8-byte native buffer and {@code kernelParams[i]} points to slot i (the layout that
 * worked on the H100; wrapping a device pointer itself in a PointerPointer crashed the driver). Slots are reused.
 * {@link Cuda} launches on a GPU stream; the CPU emulation ({@link EmulatedGpu}) runs the same source on the host.
 * Not thread-safe.
 */
abstract class Kernel implements AutoCloseable {
    private static final int MAX_ARGS = 16;

    final String name;
    private final StepGraph steps;
    final BytePointer[] slots = new BytePointer[MAX_ARGS];
    final PointerPointer<BytePointer> params = new PointerPointer<>(MAX_ARGS);
    private final long[] values = new long[MAX_ARGS];
    private int count;

    Kernel(String name, StepGraph steps) {
        this.name = name;
        this.steps = steps;
        for (int i = 0; i < MAX_ARGS; i++) {
            slots[i] = new BytePointer(8);
            slots[i].putLong(0, 0L);
            params.put(i, slots[i]);
        }
    }

    /** A device address (a pointer argument); 0 passes a null pointer. */
    Kernel ptr(long address) {
        return next(address);
    }

    Kernel i64(long value) {
        return next(value);
    }

    Kernel i32(int value) {
        return next(value & 0xffffffffL);
    }

    Kernel f64(double value) {
        return next(Double.doubleToRawLongBits(value));
    }

    Kernel f32(float value) {
        return next(Float.floatToRawIntBits(value) & 0xffffffffL);
    }

    private Kernel next(long bits) {
        if (count == MAX_ARGS) throw new IllegalStateException(name + ": more than " + MAX_ARGS + " arguments");
        values[count++] = bits;
        return this;
    }

    /** The first {@code n} of {@code args} into the native argument slots. */
    final void writeSlots(long[] args, int n) {
        for (int i = 0; i < n; i++) slots[i].putLong(0, args[i]);
    }

    /** Queues the kernel with a (gridX, gridY) grid of 1-D blocks; resets the arguments. */
    void launch(long gridX, int gridY, int block, int sharedBytes) {
        int n = count;
        count = 0;
        if (gridX <= 0 || gridY <= 0) return;   // empty tensor: nothing to do
        if (gridX > Integer.MAX_VALUE || gridY > 65535)
            throw new IllegalArgumentException(name + ": grid " + gridX + " x " + gridY + " is too large");
        if (steps != null && steps.mode() != StepGraph.Mode.EAGER) {
            if (!steps.admit(new Launch(this, java.util.Arrays.copyOf(values, n), (int) gridX, gridY, block, sharedBytes))) return;
        }
        invoke(values, n, (int) gridX, gridY, block, sharedBytes, false);
    }

    /** Runs the kernel with the first {@code n} of {@code args} as its arguments. */
    abstract void invoke(long[] args, int n, int gridX, int gridY, int block, int sharedBytes, boolean replayed);

    /**
     * The kernel through the CUDA driver, on the backend's stream. With {@code programmatic} (STEER_PDL=1 on sm_90+)
     * it is launched by cuLaunchKernelEx with programmatic stream serialization allowed: its blocks may be scheduled
     * while the previous kernel finishes, and wait in their first statement ({@code pdl_begin()} in common.cuh).
     */
    static final class Cuda extends Kernel {
        private final CUfunc_st function;
        private final CUstream_st stream;
        private final CUlaunchConfig config;
        private final CUlaunchAttribute attribute;
        /** Null unless profiling (STEER_CUDA_PROFILE=1). */
        private final OpProfile profile;

        Cuda(String name, CUfunc_st function, CUstream_st stream, StepGraph steps, boolean programmatic, OpProfile profile) {
            super(name, steps);
            this.function = function;
            this.stream = stream;
            this.profile = profile;
            if (programmatic) {
                attribute = new CUlaunchAttribute();
                attribute.id(CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
                attribute.value().programmaticStreamSerializationAllowed(1);
                config = new CUlaunchConfig();
                config.gridDimZ(1).blockDimY(1).blockDimZ(1).hStream(stream).attrs(attribute).numAttrs(1);
            } else {
                attribute = null;
                config = null;
            }
        }

        private int launchOnce(int gridX, int gridY, int block, int sharedBytes) {
            if (config == null) return cuLaunchKernel(function, gridX, gridY, 1, block, 1, 1, sharedBytes, stream, params, null);
            config.gridDimX(gridX).gridDimY(gridY).blockDimX(block).sharedMemBytes(sharedBytes);
            return cuLaunchKernelEx(config, function, params, null);
        }

        @Override
        void invoke(long[] args, int n, int gridX, int gridY, int block, int sharedBytes, boolean replayed) {
            writeSlots(args, n);
            if (replayed) {
                check(launchOnce(gridX, gridY, block, sharedBytes), "cuLaunchKernel(" + name + ", replayed)");
                return;
            }
            if (profile != null) profile.begin(stream);
            check(launchOnce(gridX, gridY, block, sharedBytes), "cuLaunchKernel(" + name + ", " + n + " args)");
            if (profile != null) profile.end(stream, name);
        }

        @Override
        public void close() {
            super.close();
            if (config != null) {
                config.close();
                attribute.close();
            }
        }
    }

    /** One recorded launch: equal records mean identical GPU work (same kernel, argument bytes and grid). */
    record Launch(Kernel kernel, long[] args, int gridX, int gridY, int block, int sharedBytes) implements StepGraph.Work {
        @Override
        public void run() {
            kernel.invoke(args, args.length, gridX, gridY, block, sharedBytes, true);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Launch l && l.kernel == kernel && java.util.Arrays.equals(l.args, args) && l.gridX == gridX
                    && l.gridY == gridY && l.block == block && l.sharedBytes == sharedBytes;
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(args) * 31 + kernel.name.hashCode();
        }
    }

    @Override
    public void close() {
        for (BytePointer s : slots) s.close();
        params.close();
    }
}
