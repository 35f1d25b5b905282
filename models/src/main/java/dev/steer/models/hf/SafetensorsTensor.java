package dev.steer.models.hf;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.Bf16;
import dev.steer.engine.tensor.HostTensor;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a {@link SafetensorsFile}. Reads are positional file reads of at most {@link #READ_BYTES} (not the
 * mapping: see {@link SafetensorsFile#read}), converted to float32 in chunks through typed little-endian views;
 * nothing is cached on the heap.
 */
public final class SafetensorsTensor implements HostTensor {
    /** Elements converted per step: big enough to amortise the call overhead, small enough to stay in L1/L2. */
    private static final int CHUNK = 4096;
    /** Bytes read from the file per positional read. */
    private static final int READ_BYTES = 1 << 20;

    private final SafetensorsFile file;
    private final String name;
    private final Entry entry;

    SafetensorsTensor(SafetensorsFile file, String name, Entry entry) {
        this.file = file;
        this.name = name;
        this.entry = entry;
    }

    /** A validated header entry; {@code begin} is the byte offset of the first element within the data area. */
    record Entry(StoredDtype dtype, long[] shape, long begin, long elements) {
        static Entry parse(Path file, String name, JsonElement json, long dataLength) {
            String where = file + ": tensor " + name;
            if (!json.isJsonObject()) throw new BadInputException(where + " has a header entry that is not an object");
            JsonObject o = json.getAsJsonObject();
            JsonElement dtypeJson = o.get("dtype");
            if (dtypeJson == null || !dtypeJson.isJsonPrimitive()) throw new BadInputException(where + " has no dtype");
            String dtypeName = dtypeJson.getAsString();
            StoredDtype dtype = StoredDtype.byName(dtypeName);
            if (dtype == null) {
                throw new BadInputException(where + " has dtype '" + dtypeName + "', which steer cannot read (supported: "
                        + StoredDtype.supportedList() + ")");
            }
            long[] shape = longs(where, o.get("shape"), "shape", -1);
            long[] offsets = longs(where, o.get("data_offsets"), "data_offsets", 2);
            long begin = offsets[0], end = offsets[1];
            if (end < begin) {
                throw new BadInputException(where + " has data_offsets [" + begin + ", " + end + "] that end before they begin");
            }
            if (end > dataLength) {
                throw new BadInputException(where + " has data_offsets [" + begin + ", " + end
                        + "] outside the data area (" + dataLength + " bytes; file truncated?)");
            }
            long elements = 1;
            try {
                for (long d : shape) elements = Math.multiplyExact(elements, d);
                long bytes = Math.multiplyExact(elements, (long) dtype.bytes);
                if (bytes != end - begin) throw new ArithmeticException();
            } catch (ArithmeticException e) {
                throw new BadInputException(where + " has shape " + Arrays.toString(shape) + " of " + dtype
                        + " but its data_offsets span " + (end - begin) + " bytes");
            }
            return new Entry(dtype, shape, begin, elements);
        }

        private static long[] longs(String where, JsonElement json, String field, int expectedLength) {
            if (json == null || !json.isJsonArray()) throw new BadInputException(where + " has no " + field + " array");
            JsonArray a = json.getAsJsonArray();
            if (expectedLength >= 0 && a.size() != expectedLength) {
                throw new BadInputException(where + " has " + field + " with " + a.size() + " entries, expected "
                        + expectedLength);
            }
            long[] out = new long[a.size()];
            for (int i = 0; i < out.length; i++) {
                try {
                    BigDecimal v = a.get(i).getAsBigDecimal();
                    out[i] = v.longValueExact();
                    if (out[i] < 0) throw new ArithmeticException();
                } catch (RuntimeException e) {
                    throw new BadInputException(where + " has " + field + " " + a + ": entries must be non-negative integers");
                }
            }
            return out;
        }
    }

    SafetensorsFile file() {
        return file;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long[] shape() {
        return entry.shape.clone();
    }

    @Override
    public String dtype() {
        return entry.dtype.name();
    }

    @Override
    public long elementCount() {
        return entry.elements;
    }

    @Override
    public void readFloats(long offset, FloatBuffer dst) {
        long remaining = checkRange(offset, dst.remaining());
        int bytes = entry.dtype.bytes;
        long at = entry.begin + offset * bytes;
        ByteBuffer src = readBuffer(remaining, bytes);
        while (remaining > 0) {
            int n = (int) Math.min(remaining, src.capacity() / bytes);
            src.clear().limit(n * bytes);
            file.read(at, src);
            src.flip();
            switch (entry.dtype) {
                case F32 -> dst.put(src.asFloatBuffer());
                case BF16, F16 -> widenHalves(src.asShortBuffer(), n, dst, entry.dtype == StoredDtype.BF16);
                case F64 -> widenDoubles(src, n, dst);
                case I64 -> widenLongs(src, n, dst);
            }
            at += (long) n * bytes;
            remaining -= n;
        }
    }

    /**
     * Puts {@code dst.remaining()} elements from flat index {@code offset} into {@code dst} as raw bf16 bits: a bulk
     * copy for BF16 tensors, round-to-nearest-even narrowing ({@link Bf16#fromFloat}) for every other dtype. This is
     * how device backends upload bf16 weights without a float32 copy on the host.
     */
    @Override
    public void readBf16Bits(long offset, ShortBuffer dst) {
        if (entry.dtype != StoredDtype.BF16) {
            HostTensor.super.readBf16Bits(offset, dst);
            return;
        }
        long remaining = checkRange(offset, dst.remaining());
        long at = entry.begin + offset * 2;
        ByteBuffer src = readBuffer(remaining, 2);
        while (remaining > 0) {
            int n = (int) Math.min(remaining, src.capacity() / 2);
            src.clear().limit(n * 2);
            file.read(at, src);
            src.flip();
            dst.put(src.asShortBuffer());
            at += 2L * n;
            remaining -= n;
        }
    }

    /** A little-endian buffer for up to {@link #READ_BYTES} of the {@code count} elements a read wants. */
    private static ByteBuffer readBuffer(long count, int elementBytes) {
        int cap = (int) Math.min(count * elementBytes, READ_BYTES / elementBytes * elementBytes);
        return ByteBuffer.allocate(Math.max(cap, elementBytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return name + " " + entry.dtype + Arrays.toString(entry.shape) + " in " + file.file();
    }

    private long checkRange(long offset, int count) {
        if (offset < 0 || offset > entry.elements - count) {
            throw new IndexOutOfBoundsException(name + ": elements [" + offset + ", " + (offset + count)
                    + ") outside 0.." + entry.elements);
        }
        return count;
    }

    private static void widenHalves(ShortBuffer src, int n, FloatBuffer dst, boolean bf16) {
        short[] halves = new short[Math.min(n, CHUNK)];
        float[] floats = dst.hasArray() ? null : new float[halves.length];
        while (n > 0) {
            int c = Math.min(n, halves.length);
            src.get(halves, 0, c);
            float[] out = floats != null ? floats : dst.array();
            int base = floats != null ? 0 : dst.arrayOffset() + dst.position();
            if (bf16) {
                for (int i = 0; i < c; i++) out[base + i] = Float.intBitsToFloat((halves[i] & 0xFFFF) << 16);
            } else {
                for (int i = 0; i < c; i++) out[base + i] = Fp16.toFloat(halves[i]);
            }
            if (floats != null) dst.put(floats, 0, c);
            else dst.position(dst.position() + c);
            n -= c;
        }
    }

    private static void widenDoubles(ByteBuffer src, int n, FloatBuffer dst) {
        var doubles = src.asDoubleBuffer();
        for (int i = 0; i < n; i++) dst.put((float) doubles.get());
    }

    private static void widenLongs(ByteBuffer src, int n, FloatBuffer dst) {
        var longs = src.asLongBuffer();
        for (int i = 0; i < n; i++) dst.put((float) longs.get());
    }
}
