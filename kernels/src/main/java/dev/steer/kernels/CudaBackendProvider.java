package dev.steer.kernels;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;

/** Registers {@code --backend cuda} (see META-INF/services): GPU 0, or the one named by STEER_CUDA_DEVICE. */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    /** Default precision bf16: weights and KV cache in bf16, float32 accumulation. */
    @Override
    public Backend open(String precision) {
        Precision p = precision(precision);
        KernelSettings settings = KernelSettings.fromEnvironment();
        return CudaBackend.open(settings.device(), p, settings);
    }

    static Precision precision(String precision) {
        return precision == null ? Precision.BF16 : switch (precision) {
            case "bf16" -> Precision.BF16;
            case "f32" -> Precision.F32;
            default -> throw new BadInputException("--precision: '" + precision + "' is not one of bf16, f32");
        };
    }

    /**
     * Registers {@code --backend cuda-emu}: the CUDA backend with its kernels run by the CPU emulator
     * ({@link CudaBackend#emulated}), to check the GPU path on a machine without one. Slow: for tiny models.
     */
    public static final class Emulated implements BackendProvider {
        @Override
        public String name() {
            return "cuda-emu";
        }

        @Override
        public Backend open(String precision) {
            return CudaBackend.emulated(precision(precision), KernelSettings.fromEnvironment());
        }
    }
}
