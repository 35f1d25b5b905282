package dev.steer.engine.backend;

/**
 * Owns every tensor an op creates while it is the backend's current scope (opened with
 * {@link Backend#openScope()}); closing it releases them, so a generation loop does not leak native memory.
 * Scopes nest: closing restores the enclosing scope as current.
 */
public interface Scope extends AutoCloseable {
    /** Moves {@code t} to the enclosing scope so it outlives this one; returns {@code t}. */
    Tensor keep(Tensor t);

    /**
     * {@link #keep(Tensor)}, and {@code replacing}, a tensor of the enclosing scope that nothing reads once this
     * scope closes (the previous layer's output, say), may give its memory to what this scope keeps: a backend whose
     * scopes are stack regions (the CUDA arena) reuses it when it is the enclosing scope's latest allocation, so a
     * chain of layer scopes does not pile up every layer's output. {@code replacing} must not be used afterwards;
     * by default it is left alone.
     */
    default Tensor keep(Tensor t, Tensor replacing) {
        return keep(t);
    }

    @Override
    void close();
}
