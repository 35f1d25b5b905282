package dev.steer.kernels;

import dev.steer.engine.tensor.HostTensor;
import org.bytedeco.javacpp.BytePointer;

/**
 * Uploads weights through one 64 MB staging buffer (16M float32 elements), pinned when the driver allows, so
 * copies run at full PCIe speed; allocated at the first weight, freed with the backend.
 */
final class WeightUpload implements AutoCloseable {
    static final int CHUNK_ELEMENTS = 1 << 24;

    private final Gpu device;
    private BytePointer host;
    private WeightStream stream;

    WeightUpload(Gpu device) {
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
        host = device.stagingBuffer(CHUNK_ELEMENTS * 4L);
        stream = new WeightStream(CHUNK_ELEMENTS, host.asByteBuffer());
    }

    @Override
    public void close() {
        if (host == null) return;
        device.freeStagingBuffer(host);
        host = null;
        stream = null;
    }
}
