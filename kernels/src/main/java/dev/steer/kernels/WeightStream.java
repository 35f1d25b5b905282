package dev.steer.kernels;

import dev.steer.engine.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Moves a checkpoint tensor to the device a chunk at a time through one staging buffer, converting to the
 * device dtype on the way (float32 → bf16 rounds to nearest even), so a 2.4 GB float32 embedding never has a
 * second full copy on the host.
 */
final class WeightStream {
    /** Receives each converted chunk: {@code chunk} holds bytes [0, limit) for device bytes [byteOffset, ...). */
    interface Sink {
        void write(long byteOffset, ByteBuffer chunk);
    }

    private final float[] floats;
    private final ByteBuffer staging;

    /** {@code staging} must hold {@code chunkElements * 4} bytes (it may be pinned host memory). */
    WeightStream(int chunkElements, ByteBuffer staging) {
        if (staging.capacity() < (long) chunkElements * 4)
            throw new IllegalArgumentException("staging holds " + staging.capacity() + " bytes, chunk needs " + chunkElements * 4L);
        this.floats = new float[chunkElements];
        this.staging = staging.order(ByteOrder.nativeOrder());
    }

    void stream(HostTensor source, DType dtype, Sink sink) {
        if (dtype == DType.I32) throw new IllegalArgumentException(source.name() + ": weights are float, not " + dtype);
        long n = source.elementCount();
        FloatBuffer view = FloatBuffer.wrap(floats);
        for (long offset = 0; offset < n; offset += floats.length) {
            int len = (int) Math.min(floats.length, n - offset);
            staging.clear();
            if (dtype == DType.BF16) {
                // bf16 checkpoints are copied raw; others are narrowed while read (HostTensor.readBf16Bits)
                ShortBuffer bits = staging.asShortBuffer();
                bits.limit(len);
                source.readBf16Bits(offset, bits);
                if (bits.position() != len)
                    throw new IllegalStateException(source.name() + ": readBf16Bits gave " + bits.position() + " of " + len + " elements at " + offset);
                staging.position(len * 2);
            } else {
                view.clear().limit(len);
                source.readFloats(offset, view);
                if (view.position() != len)
                    throw new IllegalStateException(source.name() + ": readFloats gave " + view.position() + " of " + len + " elements at " + offset);
                staging.asFloatBuffer().put(floats, 0, len);
                staging.position(len * 4);
            }
            staging.flip();
            sink.write(offset * dtype.bytes, staging);
        }
    }
}
