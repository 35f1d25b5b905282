package dev.steer.models.vectors;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GGUF control vectors written from the format's specification, independently of steer's {@link GgufFile}: in the
 * layouts of repeng (gguf-py: tensors in descending layer order, {@code layer_count} u32) and llama.cpp's
 * cvector-generator ({@code layer_count} i32, ascending), and with F16/BF16 tensors.
 */
final class GgufTestWriter {
    static final int F32 = 0, F16 = 1, BF16 = 30;

    private final Map<String, Object[]> kv = new LinkedHashMap<>();   // key -> {type, value}
    private final List<Object[]> tensors = new ArrayList<>();         // {name, float[], ggml type}
    private int version = 3;

    GgufTestWriter version(int v) {
        version = v;
        return this;
    }

    GgufTestWriter string(String key, String value) {
        kv.put(key, new Object[] {8, value});
        return this;
    }

    GgufTestWriter u32(String key, int value) {
        kv.put(key, new Object[] {4, value});
        return this;
    }

    GgufTestWriter i32(String key, int value) {
        kv.put(key, new Object[] {5, value});
        return this;
    }

    GgufTestWriter f32(String key, float value) {
        kv.put(key, new Object[] {6, value});
        return this;
    }

    GgufTestWriter tensor(String name, float[] values, int type) {
        tensors.add(new Object[] {name, values, type});
        return this;
    }

    byte[] bytes() {
        Out o = new Out();
        o.u32(0x46554747).u32(version).u64(tensors.size()).u64(kv.size());
        kv.forEach((k, tv) -> {
            o.str(k).u32((Integer) tv[0]);
            switch ((Integer) tv[0]) {
                case 8 -> o.str((String) tv[1]);
                case 4, 5 -> o.u32((Integer) tv[1]);
                case 6 -> o.f32((Float) tv[1]);
                default -> throw new IllegalStateException();
            }
        });
        long offset = 0;
        List<byte[]> data = new ArrayList<>();
        for (Object[] t : tensors) {
            float[] v = (float[]) t[1];
            int type = (Integer) t[2];
            ByteBuffer b = ByteBuffer.allocate(v.length * (type == F32 ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                if (type == F32) b.putFloat(x);
                else if (type == BF16) b.putShort((short) (Float.floatToIntBits(x) >>> 16));
                else b.putShort(half(x));
            }
            o.str((String) t[0]).u32(1).u64(v.length).u32(type).u64(offset);
            data.add(b.array());
            offset += (b.array().length + 31) / 32 * 32;
        }
        o.pad();
        for (byte[] d : data) {
            o.raw(d);
            o.pad();
        }
        return o.bytes.toByteArray();
    }

    /** float32 to IEEE half for values a half holds exactly (the tests use such values). */
    static short half(float x) {
        if (x == 0) return 0;
        int bits = Float.floatToIntBits(x);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = (bits >>> 13) & 0x3ff;
        if (exp <= 0 || exp >= 31 || (bits & 0x1fff) != 0) throw new IllegalArgumentException(x + " is not exact in half precision");
        return (short) (sign | exp << 10 | mant);
    }

    private static final class Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Out raw(byte[] b) {
            bytes.write(b, 0, b.length);
            return this;
        }

        Out u32(int v) {
            return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
        }

        Out u64(long v) {
            return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        Out f32(float v) {
            return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
        }

        Out str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            return raw(b);
        }

        void pad() {
            while (bytes.size() % 32 != 0) bytes.write(0);
        }
    }
}
