package dev.steer.kernels;

import static org.bytedeco.cuda.global.cudart.cuMemAllocHost;
import static org.bytedeco.cuda.global.cudart.cuMemFreeHost;

import dev.steer.engine.tensor.HostTensor;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Uploads weights through one 64 MB staging buffer (16M float32 elements), pinned when the driver allows, so
 * copies run at full PCIe speed; allocated at the first weight, freed with the backend.
 */
final class WeightUpload implements AutoCloseable {
    static final int CHUNK_ELEMENTS = 1 << 24;

    private final CudaDevice device;
    private BytePointer host;
    private boolean pinned;
    private WeightStream stream;

    WeightUpload(CudaDevice device) {
        this.device = device;
    }

    void stream(HostTensor source, DType dtype, long dst) {
        if (stream == null) open();
        stream.stream(source, dtype, (byteOffset, chunk) -> {
            device.upload(dst + byteOffset, host, chunk.limit());
            device.synchronize();   // the staging buffer is refilled next
        });
    }

    private void open() {
        long bytes = CHUNK_ELEMENTS * 4L;
        try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
            if (cuMemAllocHost(out, bytes) == 0) {
                host = new BytePointer(out.get(0));
                pinned = true;
            } else {
                host = new BytePointer(bytes);
            }
        }
        host.capacity(bytes);
        stream = new WeightStream(CHUNK_ELEMENTS, host.asByteBuffer());
    }

    @Override
    public void close() {
        if (host == null) return;
        if (pinned) cuMemFreeHost(host);
        else host.close();
        host = null;
        stream = null;
    }
}
