package dev.steer.kernels;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * One pageable host buffer, grown when needed and reused, for the small uploads of every step (token ids, rotary
 * rows, the cache length, left padding, sampling draws). Allocating a JavaCPP pointer per upload (a native malloc
 * plus a deallocator registration) cost more host time than the copy in a replayed decode step, which is recorded
 * on the host between the GPU's steps. {@link Gpu#upload} from pageable memory returns once the bytes are staged, so
 * the buffer may be overwritten by the next upload at once. Not thread-safe (neither is the backend).
 */
final class HostUploads implements AutoCloseable {
    private BytePointer bytes;
    private FloatPointer floats;
    private IntPointer ints;
    private DoublePointer doubles;
    private long capacity;

    /** Makes room for {@code size} bytes; false when there is nothing to upload. */
    private boolean reserve(long size) {
        if (size == 0) return false;
        if (size > capacity) {
            close();
            capacity = Math.max(size, 4096);
            bytes = new BytePointer(capacity);
            floats = new FloatPointer(bytes);
            ints = new IntPointer(bytes);
            doubles = new DoublePointer(bytes);
        }
        return true;
    }

    void floats(Gpu device, long dst, float[] data) {
        long size = (long) data.length * Float.BYTES;
        if (reserve(size)) device.upload(dst, floats.position(0).put(data), size);
    }

    void ints(Gpu device, long dst, int[] data) {
        long size = (long) data.length * Integer.BYTES;
        if (reserve(size)) device.upload(dst, ints.position(0).put(data), size);
    }

    void doubles(Gpu device, long dst, double[] data) {
        long size = (long) data.length * Double.BYTES;
        if (reserve(size)) device.upload(dst, doubles.position(0).put(data), size);
    }

    @Override
    public void close() {
        if (bytes != null) bytes.close();
        bytes = null;
        floats = null;
        ints = null;
        doubles = null;
        capacity = 0;
    }
}
