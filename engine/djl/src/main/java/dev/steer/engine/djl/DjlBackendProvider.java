package dev.steer.engine.djl;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;

/**
 * Registers {@code --backend cpu} (see META-INF/services): DJL's PyTorch engine on the CPU, float32 compute with
 * float32 or (with {@code --precision bf16}) bf16 weight matrices.
 */
public final class DjlBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Backend open(String precision) {
        return open(precision, 0);
    }

    @Override
    public Backend open(String precision, int threads) {
        if (precision != null && !precision.equals("f32") && !precision.equals("bf16"))
            throw new BadInputException("--precision: the cpu backend computes in f32 or bf16, not " + precision);
        return DjlBackend.cpu("bf16".equals(precision), threads);
    }
}
