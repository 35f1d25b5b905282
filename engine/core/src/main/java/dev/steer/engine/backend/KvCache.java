package dev.steer.engine.backend;

/**
 * Keys and values of every layer for a batch, owned by the backend that made it ({@link Backend#kvCache}).
 * {@link #length()} slots are filled; {@link Backend#attention} writes the step's keys and values for one layer
 * after them, and the model calls {@link #advance} once all layers ran.
 */
public interface KvCache extends AutoCloseable {
    int batch();

    /** Slots filled so far (the {@code past} of the next step). */
    int length();

    /** Most slots this cache can hold. */
    int capacity();

    void advance(int steps);

    @Override
    void close();
}
