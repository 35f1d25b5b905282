package dev.steer.kernels;

import dev.steer.engine.backend.SlotCount;
import java.util.Arrays;

/**
 * Keys and values of every layer, preallocated for batch × capacity in one device allocation:
 * layer l's keys at {@code keys(l)}, values at {@code values(l)}, each [batch, kvHeads, capacity, headDim] in
 * the backend's KV dtype. Also holds the batch's left padding on the device (uploaded when it changes), which
 * the attention kernel reads.
 */
final class CudaKvCache extends SlotCount {
    private final Gpu device;
    private final HostUploads uploads;
    final int layers;
    final int kvHeads;
    final int headDim;
    final DType dtype;
    private final long base;
    private final long layerBytes;
    final long padLeft;
    /** The filled length the kernels read (an int on the device), so replayed graphs see the current length. */
    final long pastDevice;
    private int uploadedPast = -1;
    private int[] uploadedPadLeft;
    private boolean closed;

    CudaKvCache(Gpu device, HostUploads uploads, int layers, int batch, int kvHeads, int headDim, int capacity, DType dtype) {
        super(positive(layers, batch, kvHeads, headDim, capacity), capacity);
        this.device = device;
        this.uploads = uploads;
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dtype = dtype;
        this.layerBytes = (long) batch * kvHeads * capacity * headDim * dtype.bytes;
        this.base = device.allocate(layerBytes * 2 * layers);
        this.padLeft = device.allocate((long) batch * 4);
        this.pastDevice = device.allocate(4);
    }

    /** {@code batch}, once every size is checked to be positive. */
    private static int positive(int layers, int batch, int kvHeads, int headDim, int capacity) {
        if (layers <= 0 || batch <= 0 || kvHeads <= 0 || headDim <= 0 || capacity <= 0)
            throw new IllegalArgumentException("kvCache: layers " + layers + ", batch " + batch + ", kvHeads " + kvHeads
                    + ", headDim " + headDim + ", capacity " + capacity + " must all be positive");
        return batch;
    }

    /** Makes the device's copy of the filled length equal to {@code past} (one 4-byte copy when it changed). */
    void usePast(int past) {
        if (past == uploadedPast) return;
        uploads.ints(device, pastDevice, new int[] {past});
        uploadedPast = past;
    }

    long keys(int layer) {
        return base + (2L * layer) * layerBytes;
    }

    long values(int layer) {
        return base + (2L * layer + 1) * layerBytes;
    }

    /** Makes the device copy of the left padding equal to {@code pads} (one small copy when it changed). */
    void usePadLeft(int[] pads) {
        if (Arrays.equals(pads, uploadedPadLeft)) return;
        for (int p : pads)
            if (p < 0 || p > capacity()) throw new IllegalArgumentException("padLeft " + Arrays.toString(pads) + " outside [0, " + capacity() + "]");
        uploads.ints(device, padLeft, pads);
        uploadedPadLeft = pads.clone();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.enter();
        device.free(base);
        device.free(padLeft);
        device.free(pastDevice);
    }

    boolean isClosed() {
        return closed;
    }
}
