package dev.steer.engine.backend;

/**
 * The bookkeeping every {@link KvCache} shares: batch, capacity and the filled length, advanced after each step.
 * Backends extend it with where their keys and values live.
 */
public abstract class SlotCount implements KvCache {
    private final int batch;
    private final int capacity;
    private int length;

    protected SlotCount(int batch, int capacity) {
        this.batch = batch;
        this.capacity = capacity;
    }

    @Override
    public final int batch() {
        return batch;
    }

    @Override
    public final int length() {
        return length;
    }

    @Override
    public final int capacity() {
        return capacity;
    }

    @Override
    public final void advance(int steps) {
        if (steps < 0 || length + steps > capacity)
            throw new IllegalStateException("KV cache: advancing " + steps + " from " + length + " passes capacity " + capacity);
        length += steps;
    }
}
