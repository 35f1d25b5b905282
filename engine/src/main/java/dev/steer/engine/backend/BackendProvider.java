package dev.steer.engine.backend;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.djl.DjlBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds backends by name: {@code cpu} (DJL/PyTorch, always present) and whatever the class path registers under
 * {@code META-INF/services/dev.steer.engine.backend.BackendProvider} (the CUDA backend in {@code kernels}).
 */
public interface BackendProvider {
    String name();

    /**
     * Opens the backend. {@code precision} is {@code bf16} or {@code f32} (a backend may support only one), or null
     * for the backend's own default.
     * Throws {@link BadInputException} with one clear line when the backend cannot run here (no GPU, no driver).
     */
    Backend open(String precision);

    /** {@code precision}: null for the backend's default (f32 on cpu, bf16 on cuda). */
    static Backend open(String name, String precision) {
        if (name.equals("cpu")) {
            if (precision != null && !precision.equals("f32")) throw new BadInputException("--precision: the cpu backend computes in f32 only, not " + precision);
            return DjlBackend.cpu();
        }
        List<String> names = new ArrayList<>(List.of("cpu"));
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.name().equals(name)) return p.open(precision);
            names.add(p.name());
        }
        throw new BadInputException("--backend: '" + name + "' is not available (available: " + String.join(", ", names) + ")");
    }
}
