package dev.steer.engine.backend;

/**
 * Owns every tensor an op creates while it is the backend's current scope (opened with
 * {@link Backend#openScope()}); closing it releases them, so a generation loop does not leak native memory.
 * Scopes nest: closing restores the enclosing scope as current.
 */
public interface Scope extends AutoCloseable {
    /** Moves {@code t} to the enclosing scope so it outlives this one; returns {@code t}. */
    Tensor keep(Tensor t);

    @Override
    void close();
}
