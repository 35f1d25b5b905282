package dev.steer.engine.backend;

import dev.steer.engine.BadInputException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds backends by name among those the class path registers under
 * {@code META-INF/services/dev.steer.engine.backend.BackendProvider}: {@code cpu} (DJL/PyTorch, {@code engine/djl}),
 * {@code cuda} and {@code cuda-emu} ({@code kernels}). The runtime core names none of them.
 */
public interface BackendProvider {
    String name();

    /**
     * Opens the backend. {@code precision} is {@code bf16} or {@code f32} (a backend may support only one), or null
     * for the backend's own default.
     * Throws {@link BadInputException} with one clear line when the backend cannot run here (no GPU, no driver).
     */
    Backend open(String precision);

    /**
     * {@link #open(String)} with {@code threads} compute threads (0: the backend's default). Only a backend that
     * computes on the host's cores takes a count; the others refuse one.
     */
    default Backend open(String precision, int threads) {
        if (threads != 0) throw new BadInputException("--threads: the " + name() + " backend does not take a thread count (only cpu does)");
        return open(precision);
    }

    /** {@code precision}: null for the backend's default (f32 on cpu, bf16 on cuda). */
    static Backend open(String name, String precision) {
        return open(name, precision, 0);
    }

    /** {@code threads}: 0 for the backend's default. */
    static Backend open(String name, String precision, int threads) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class))
            if (p.name().equals(name)) return p.open(precision, threads);
        throw new BadInputException("--backend: '" + name + "' is not available (available: " + String.join(", ", names()) + ")");
    }

    /** The names of the registered backends, sorted. */
    static List<String> names() {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) names.add(p.name());
        Collections.sort(names);
        return names;
    }
}
