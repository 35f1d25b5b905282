package dev.steer.engine.djl;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;

/** Registers {@code --backend cpu} (see META-INF/services): DJL's PyTorch engine on the CPU, float32. */
public final class DjlBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Backend open(String precision) {
        if (precision != null && !precision.equals("f32"))
            throw new BadInputException("--precision: the cpu backend computes in f32 only, not " + precision);
        return DjlBackend.cpu();
    }
}
