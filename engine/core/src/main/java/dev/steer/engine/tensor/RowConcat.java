package dev.steer.engine.tensor;

import java.nio.Buffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Host tensors stacked along their first dimension, read in place: how a backend gets one packed weight (q, k and
 * v projections; gate and up) without a copy on the host. Every part must have the same trailing dimensions.
 * Reads that cross a part boundary are split; bf16 parts still copy raw bits ({@link #readBf16Bits}).
 */
public final class RowConcat implements HostTensor {
    private final String name;
    private final List<HostTensor> parts;
    private final long[] shape;
    private final long[] starts;

    public RowConcat(String name, List<HostTensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException(name + ": nothing to concatenate");
        this.name = name;
        this.parts = List.copyOf(parts);
        long[] first = parts.get(0).shape();
        if (first.length < 1) throw new IllegalArgumentException(name + ": " + parts.get(0).name() + " is a scalar");
        long rows = 0;
        starts = new long[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) {
            long[] s = parts.get(i).shape();
            if (s.length != first.length || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length), Arrays.copyOfRange(first, 1, first.length)))
                throw new IllegalArgumentException(name + ": " + parts.get(i).name() + " " + Arrays.toString(s) + " does not stack on "
                        + parts.get(0).name() + " " + Arrays.toString(first));
            rows += s[0];
            starts[i + 1] = starts[i] + parts.get(i).elementCount();
        }
        shape = first.clone();
        shape[0] = rows;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The parts' dtype when they share one, else {@code mixed}. */
    @Override
    public String dtype() {
        String d = parts.get(0).dtype();
        for (HostTensor p : parts) if (!p.dtype().equals(d)) return "mixed";
        return d;
    }

    @Override
    public void readFloats(long offset, FloatBuffer dst) {
        read(offset, dst, HostTensor::readFloats);
    }

    @Override
    public void readBf16Bits(long offset, ShortBuffer dst) {
        read(offset, dst, HostTensor::readBf16Bits);
    }

    private interface PartRead<B extends Buffer> {
        void read(HostTensor part, long offset, B dst);
    }

    /** Fills dst part by part: each part reads its own range into a slice of dst. */
    @SuppressWarnings("unchecked")
    private <B extends Buffer> void read(long offset, B dst, PartRead<B> read) {
        while (dst.hasRemaining()) {
            int i = part(offset);
            int n = (int) Math.min(dst.remaining(), starts[i + 1] - offset);
            B slice = (B) dst.slice().limit(n);
            read.read(parts.get(i), offset - starts[i], slice);
            dst.position(dst.position() + n);
            offset += n;
        }
    }

    private int part(long offset) {
        if (offset < 0 || offset >= starts[parts.size()])
            throw new IndexOutOfBoundsException(name + ": element " + offset + " outside [0, " + starts[parts.size()] + ")");
        int i = 0;
        while (offset >= starts[i + 1]) i++;
        return i;
    }
}
