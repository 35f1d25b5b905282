package dev.steer.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.steer.engine.backend.SlotCount;

/**
 * Per-layer keys and values [B, kvHeads, capacity, headDim], allocated at the layer's first step and written in place
 * (a step copies its own T slots, not the whole cache, as concatenation did: a continuously batched row joins after
 * the cache's current length, so the cache can be long); the cache owns its NDManager so entries outlive the
 * per-step scopes.
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
        this.keyAddress = new long[layers];
        this.valueAddress = new long[layers];
    }

    /**
     * Writes the step's keys and values [B, kvH, T, D] at slots {@code past .. past + T} and returns the keys and
     * values of slots {@code 0 .. past + T}, attached to {@code scope}.
     */
    NDArray[] write(int layer, NDArray k, NDArray v, int past, NDManager scope) {
        Shape s = k.getShape();
        allocate(layer, s.get(0), s.get(1), s.get(3));
        long t = k.getShape().get(2);
        NDIndex at = new NDIndex(":, :, {}:{}", past, past + t);
        keys[layer].set(at, k);
        values[layer].set(at, v);
        NDIndex upto = new NDIndex(":, :, :{}", past + t);
        NDArray kAll = keys[layer].get(upto), vAll = values[layer].get(upto);
        kAll.attach(scope);
        vAll.attach(scope);
        return new NDArray[] {kAll, vAll};
    }

    /** The layer's keys and values [B, kvH, capacity, D] (float32, zeros), at its first step. */
    private void allocate(int layer, long batch, long kvHeads, long headDim) {
        if (keys[layer] != null) return;
        Shape full = new Shape(batch, kvHeads, capacity(), headDim);
        keys[layer] = manager.zeros(full, DataType.FLOAT32);
        values[layer] = manager.zeros(full, DataType.FLOAT32);
    }

    /** Whether a layer's cache fits one direct buffer (int-sized), as the kernels address it. */
    boolean fitsKernels(int batch, int kvHeads, int headDim) {
        return 4L * batch * kvHeads * capacity() * headDim <= Integer.MAX_VALUE;
    }

    /** First-element addresses of each layer's keys and values, for the kernels (0 until asked for). */
    private final long[] keyAddress, valueAddress;

    /** Allocates the layer's keys and values if needed; their first elements' addresses. */
    long[] addresses(int layer, int batch, int kvHeads, int headDim) {
        allocate(layer, batch, kvHeads, headDim);
        if (keyAddress[layer] == 0) {
            keyAddress[layer] = CpuKernels.address(JniUtils.getByteBuffer((PtNDArray) keys[layer], true));
            valueAddress[layer] = CpuKernels.address(JniUtils.getByteBuffer((PtNDArray) values[layer], true));
        }
        return new long[] {keyAddress[layer], valueAddress[layer]};
    }

    @Override
    public void close() {
        manager.close();
    }
}
