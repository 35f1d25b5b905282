package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.Bf16;
import dev.steer.models.hf.Fp16;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An N-D array of floats read from a foreign vector file (torch storage, numpy, GGUF), gathered in C order from its
 * storage by shape, strides and offset, so a view into a larger storage (refusal_direction's [2304] slice of a
 * 5x26x2304 storage) reads exactly its own elements. Values widen to double; steer narrows each row to float32
 * when it becomes a vector.
 *
 * @param dtype the stored element type as the file names it (float32, float64, bfloat16, float16)
 */
record StoredArray(String dtype, long[] shape, double[] values) {
    /** Element types steer reads, by the bytes they take. */
    enum Element {
        F64("float64", 8), F32("float32", 4), F16("float16", 2), BF16("bfloat16", 2);

        final String label;
        final int bytes;

        Element(String label, int bytes) {
            this.label = label;
            this.bytes = bytes;
        }

        double read(ByteBuffer b, int at) {
            return switch (this) {
                case F64 -> b.getDouble(at);
                case F32 -> b.getFloat(at);
                case F16 -> Fp16.toFloat(b.getShort(at));
                case BF16 -> Bf16.toFloat(b.getShort(at));
            };
        }
    }

    /**
     * Gathers {@code shape} elements from {@code storage} (little-endian unless {@code order} says otherwise) at
     * {@code offset} with {@code strides}, all counted in elements; every index is checked inside the storage.
     */
    static StoredArray gather(String where, Element e, ByteBuffer storage, ByteOrder order, long offset, long[] shape, long[] strides) {
        ByteBuffer b = storage.duplicate().order(order);
        long capacity = b.remaining() / e.bytes;
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new BadInputException(where + ": negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE - 8) throw new BadInputException(where + ": " + n + " elements is too many for a vector file");
        double[] out = new double[0];
        if (n > 0) {
            // The extreme elements the view touches must lie inside the storage; every other one lies between.
            long lo = offset, hi = offset;
            for (int i = 0; i < shape.length; i++) {
                long span = (shape[i] - 1) * strides[i];
                if (span < 0) lo += span;
                else hi += span;
            }
            if (lo < 0 || hi >= capacity)
                throw new BadInputException(where + ": shape " + Arrays.toString(shape) + ", strides " + Arrays.toString(strides)
                        + " at offset " + offset + " reach past its storage of " + capacity + " " + e.label + " elements (truncated file?)");
            // Allocated only once the view is known to lie inside the storage: a header claiming 2^30 elements over a
            // few bytes is a truncated or forged file, not an allocation to attempt.
            out = new double[(int) n];
            int base = b.position();
            long[] idx = new long[shape.length];
            for (int k = 0; k < n; k++) {
                long at = offset;
                for (int i = 0; i < shape.length; i++) at += idx[i] * strides[i];
                out[k] = e.read(b, base + (int) (at * e.bytes));
                for (int i = shape.length - 1; i >= 0; i--) {
                    if (++idx[i] < shape[i]) break;
                    idx[i] = 0;
                }
            }
        }
        return new StoredArray(e.label, shape.clone(), out);
    }

    /** C-order (row-major) strides of {@code shape}, in elements. */
    static long[] contiguous(long[] shape) {
        long[] s = new long[shape.length];
        long step = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = step;
            step *= Math.max(shape[i], 1);
        }
        return s;
    }

    /** Fortran-order (column-major) strides of {@code shape}, in elements. */
    static long[] fortran(long[] shape) {
        long[] s = new long[shape.length];
        long step = 1;
        for (int i = 0; i < shape.length; i++) {
            s[i] = step;
            step *= Math.max(shape[i], 1);
        }
        return s;
    }

    /** The last dimension: a vector's length. */
    int rowLength() {
        return shape.length == 0 ? 1 : (int) shape[shape.length - 1];
    }

    /** Rows: every vector along the last dimension; 1 for a 1-D array. */
    int rows() {
        int len = rowLength();
        return len == 0 ? 0 : values.length / len;
    }

    /** Row {@code r} (C order over the leading dimensions), narrowed to float32. */
    float[] row(int r) {
        int len = rowLength();
        float[] out = new float[len];
        for (int i = 0; i < len; i++) out[i] = (float) values[r * len + i];
        return out;
    }

    /** The leading dimensions: the indices that pick a row. */
    long[] leading() {
        return shape.length <= 1 ? new long[0] : Arrays.copyOf(shape, shape.length - 1);
    }
}
