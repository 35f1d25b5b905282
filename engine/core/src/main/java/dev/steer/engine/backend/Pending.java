package dev.steer.engine.backend;

/** A result the device may still be computing or copying back; {@link #get} waits for it (once). */
@FunctionalInterface
public interface Pending<T> {
    T get();

    /** An already known value. */
    static <T> Pending<T> of(T value) {
        return () -> value;
    }
}
