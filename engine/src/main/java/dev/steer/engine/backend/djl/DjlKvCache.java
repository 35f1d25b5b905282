package dev.steer.engine.backend.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.steer.engine.backend.KvCache;

/**
 * Per-layer keys and values [B, kvHeads, S, headDim], grown by concatenation (PyTorch's own allocator makes this
 * cheap enough on CPU); the cache owns its NDManager so entries outlive the per-step scopes.
 */
final class DjlKvCache implements KvCache {
    final NDManager manager;
    final NDArray[] keys;
    final NDArray[] values;
    private final int batch;
    private final int capacity;
    private int length;

    DjlKvCache(NDManager parent, int layers, int batch, int capacity) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.batch = batch;
        this.capacity = capacity;
    }

    void store(int layer, NDArray k, NDArray v) {
        if (keys[layer] != null) {
            keys[layer].close();
            values[layer].close();
        }
        k.attach(manager);
        v.attach(manager);
        keys[layer] = k;
        values[layer] = v;
    }

    @Override
    public int batch() {
        return batch;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void advance(int steps) {
        if (length + steps > capacity) throw new IllegalStateException("KV cache full: " + (length + steps) + " > " + capacity);
        length += steps;
    }

    @Override
    public void close() {
        manager.close();
    }
}
