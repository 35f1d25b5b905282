package dev.steer.engine.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
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
    }

    /**
     * Writes the step's keys and values [B, kvH, T, D] at slots {@code past .. past + T} and returns the keys and
     * values of slots {@code 0 .. past + T}, attached to {@code scope}.
     */
    NDArray[] write(int layer, NDArray k, NDArray v, int past, NDManager scope) {
        if (keys[layer] == null) {
            Shape s = k.getShape();
            Shape full = new Shape(s.get(0), s.get(1), capacity(), s.get(3));
            keys[layer] = manager.zeros(full, k.getDataType());
            values[layer] = manager.zeros(full, v.getDataType());
        }
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

    /** First-element addresses of each layer's keys and values, for the kernels (0 until allocated). */
    private final long[][] addresses = new long[2][];

    /** Whether a layer's cache fits one direct buffer's int-sized view (the kernels address it whole). */
    boolean fitsKernels(int batch, int kvHeads, int headDim) {
        return 4L * batch * kvHeads * capacity() * headDim <= Integer.MAX_VALUE;
    }

    /** Allocates the layer's keys and values [B, kvH, capacity, D] if needed; their first elements' addresses. */
    long[] addresses(int layer, int batch, int kvHeads, int headDim) {
        if (keys[layer] == null) {
            Shape full = new Shape(batch, kvHeads, capacity(), headDim);
            keys[layer] = manager.zeros(full, ai.djl.ndarray.types.DataType.FLOAT32);
            values[layer] = manager.zeros(full, ai.djl.ndarray.types.DataType.FLOAT32);
        }
        if (addresses[0] == null) {
            addresses[0] = new long[keys.length];
            addresses[1] = new long[keys.length];
        }
        if (addresses[0][layer] == 0) {
            addresses[0][layer] = CpuKernels.address(ai.djl.pytorch.jni.JniUtils.getByteBuffer((ai.djl.pytorch.engine.PtNDArray) keys[layer], true));
            addresses[1][layer] = CpuKernels.address(ai.djl.pytorch.jni.JniUtils.getByteBuffer((ai.djl.pytorch.engine.PtNDArray) values[layer], true));
        }
        return new long[] {addresses[0][layer], addresses[1][layer]};
    }

    @Override
    public void close() {
        manager.close();
    }
}
