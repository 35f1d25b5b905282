package dev.steer.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.steer.engine.backend.SlotCount;

/**
 * Per-layer keys and values [B, kvHeads, S, headDim], grown by concatenation (PyTorch's own allocator makes this
 * cheap enough on CPU); the cache owns its NDManager so entries outlive the per-step scopes.
 */
final class DjlKvCache extends SlotCount {
    final NDManager manager;
    final NDArray[] keys;
    final NDArray[] values;
    DjlKvCache(NDManager parent, int layers, int batch, int capacity) {
        super(batch, capacity);
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
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
    public void close() {
        manager.close();
    }
}
