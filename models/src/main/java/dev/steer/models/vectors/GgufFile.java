package dev.steer.models.vectors;

import com.google.gson.Gson;
import dev.steer.engine.BadInputException;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.steering.VectorProvenance;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * GGUF control vectors, as repeng, EasySteer and llama.cpp's cvector-generator write them and llama.cpp's
 * {@code --control-vector} reads them: GGUF v2/v3, {@code general.architecture = controlvector}, one 1-D tensor
 * {@code direction.N} per layer (F32; F16 and BF16 read too), added to the output of decoder block N, which is
 * steer's layer N ({@code blocks.N.hook_resid_post}). Every metadata value is kept, as text.
 */
final class GgufFile {
    static final String TENSOR_PREFIX = "direction.";
    static final String ARCHITECTURE = "controlvector";
    static final String MODEL_HINT = "controlvector.model_hint";
    static final String LAYER_COUNT = "controlvector.layer_count";

    private static final Gson GSON = new Gson();
    private static final int MAGIC = 0x46554747;   // "GGUF" read little-endian
    private static final int DEFAULT_ALIGNMENT = 32;
    private static final int GGML_F32 = 0, GGML_F16 = 1, GGML_BF16 = 30;
    // GGUF value types
    private static final int U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8,
            ARRAY = 9, U64 = 10, I64 = 11, F64 = 12;

    private GgufFile() {
    }

    static VectorContents read(Path file) {
        ByteBuffer b = VectorFile.map(file);
        try {
            return parse(file, b.order(ByteOrder.LITTLE_ENDIAN));
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new BadInputException(file + ": truncated GGUF file (" + b.capacity() + " bytes)");
        }
    }

    private static VectorContents parse(Path file, ByteBuffer b) {
        if (b.remaining() < 24 || b.getInt() != MAGIC) throw new BadInputException(file + ": not a GGUF file (no 'GGUF' magic)");
        int version = b.getInt();
        if (version != 2 && version != 3)
            throw new BadInputException(file + ": GGUF version " + version + " (steer reads versions 2 and 3)");
        long tensors = b.getLong(), kvs = b.getLong();
        // Each entry takes at least 8 bytes: counts past that are a corrupt header, not an allocation to attempt.
        if (tensors < 0 || kvs < 0 || tensors > b.remaining() / 8 || kvs > b.remaining() / 8)
            throw new BadInputException(file + ": GGUF header counts " + tensors + " tensors and " + kvs + " metadata keys, more than the file holds (truncated?)");
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Object> raw = new LinkedHashMap<>();
        for (long i = 0; i < kvs; i++) {
            String key = string(file, b);
            Object v = value(file, b, b.getInt(), key);
            raw.put(key, v);
            meta.put(key, v instanceof String s ? s : GSON.toJson(v));
        }
        Object arch = raw.get("general.architecture");
        if (!ARCHITECTURE.equals(arch))
            throw new BadInputException(file + ": GGUF general.architecture is " + (arch == null ? "missing" : "'" + arch + "'")
                    + ", not 'controlvector': not a control vector (a model file?)");
        int alignment = DEFAULT_ALIGNMENT;
        if (raw.get("general.alignment") instanceof Number n) alignment = n.intValue();
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
            throw new BadInputException(file + ": GGUF general.alignment " + alignment + " is not a power of two");
        record Info(String name, int layer, long length, int type, long offset) {
        }
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < tensors; i++) {
            String name = string(file, b);
            int dims = b.getInt();
            if (dims < 1 || dims > 4) throw new BadInputException(file + ": tensor '" + name + "' has " + dims + " dimensions");
            long n = 1;
            int nonUnit = 0;
            for (int d = 0; d < dims; d++) {
                long size = b.getLong();
                if (size < 0) throw new BadInputException(file + ": tensor '" + name + "' has a negative dimension");
                if (size != 1) nonUnit++;
                n = Math.multiplyExact(n, size);
            }
            int type = b.getInt();
            long offset = b.getLong();
            if (!name.startsWith(TENSOR_PREFIX) || !name.substring(TENSOR_PREFIX.length()).matches("\\d{1,6}"))
                throw new BadInputException(file + ": tensor '" + name + "' is not named direction.N (a control vector holds only those)");
            if (nonUnit > 1) throw new BadInputException(file + ": tensor '" + name + "' is not 1-D");
            if (type != GGML_F32 && type != GGML_F16 && type != GGML_BF16)
                throw new BadInputException(file + ": tensor '" + name + "' has ggml type " + type + " (steer reads F32, F16 and BF16)");
            int layer = Integer.parseInt(name.substring(TENSOR_PREFIX.length()));
            for (Info o : infos) if (o.layer == layer) throw new BadInputException(file + ": tensor '" + name + "' appears twice");
            infos.add(new Info(name, layer, n, type, offset));
        }
        long data = align(b.position(), alignment);
        // Read in ascending layer order whatever the file's order (repeng writes descending).
        infos.sort((x, y) -> Integer.compare(x.layer, y.layer));
        String model = meta.get(MODEL_HINT);
        if (model != null && (model.isBlank() || model.equals("unknown"))) model = null;
        List<VectorContents.Entry> entries = new ArrayList<>();
        java.util.Set<String> dtypes = new java.util.TreeSet<>();
        for (Info t : infos) {
            StoredArray.Element e = t.type == GGML_F32 ? StoredArray.Element.F32
                    : t.type == GGML_F16 ? StoredArray.Element.F16 : StoredArray.Element.BF16;
            dtypes.add(e.label);
            long start = data + t.offset;
            if (t.offset < 0 || start + t.length * e.bytes > b.capacity())
                throw new BadInputException(file + ": tensor '" + t.name + "' reaches past the end of the file (truncated GGUF file)");
            ByteBuffer slice = b.duplicate().position((int) start).slice();
            StoredArray a = StoredArray.gather(file + " " + t.name, e, slice, ByteOrder.LITTLE_ENDIAN, 0, new long[] {t.length}, new long[] {1});
            String source = infos.size() == 1 ? file.toString() : file + "#" + t.name;
            VectorProvenance p = new VectorProvenance(source, model, t.layer, meta.get("controlvector.method"),
                    meta.get("controlvector.position"), meta.get("controlvector.trait"), meta);
            entries.add(new VectorContents.Entry(t.name, t.layer, new SteeringVector(a.row(0), p)));
        }
        return new VectorContents(file, "gguf", dtypes.size() == 1 ? dtypes.iterator().next() : dtypes.isEmpty() ? "none" : "mixed",
                entries, meta, true, Map.of());
    }

    private static long align(long at, int alignment) {
        return (at + alignment - 1) / alignment * alignment;
    }

    private static String string(Path file, ByteBuffer b) {
        long n = b.getLong();
        if (n < 0 || n > b.remaining()) throw new BadInputException(file + ": GGUF string of " + n + " bytes runs past the end of the file (truncated?)");
        byte[] s = new byte[(int) n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static Object value(Path file, ByteBuffer b, int type, String key) {
        return switch (type) {
            case U8 -> b.get() & 0xff;
            case I8 -> (int) b.get();
            case U16 -> b.getShort() & 0xffff;
            case I16 -> (int) b.getShort();
            case U32 -> b.getInt() & 0xffffffffL;
            case I32 -> b.getInt();
            case F32 -> b.getFloat();
            case BOOL -> b.get() != 0;
            case STRING -> string(file, b);
            case U64, I64 -> b.getLong();
            case F64 -> b.getDouble();
            case ARRAY -> {
                int inner = b.getInt();
                long n = b.getLong();
                if (n < 0 || n > b.remaining()) throw new BadInputException(file + ": GGUF array '" + key + "' of " + n + " items runs past the end of the file (truncated?)");
                List<Object> items = new ArrayList<>();
                for (long i = 0; i < n; i++) items.add(value(file, b, inner, key));
                yield items;
            }
            default -> throw new BadInputException(file + ": GGUF metadata '" + key + "' has unknown value type " + type);
        };
    }

    /**
     * Writes a control vector llama.cpp's loader and repeng's {@code import_gguf} read: GGUF v3, F32 1-D
     * {@code direction.N} per layer (N &ge; 1: llama.cpp has no slot for 0), {@code controlvector.model_hint},
     * {@code controlvector.layer_count} (u32, the tensor count as repeng writes it), then {@code extra}'s keys
     * (String, Integer/Long as i64, Float/Double as f64). Atomic: a temporary file renamed over the target.
     */
    static void write(Path file, SortedMap<Integer, float[]> directions, String modelHint, Map<String, Object> extra) {
        if (directions.isEmpty()) throw new IllegalArgumentException("a control vector needs at least one direction");
        if (directions.firstKey() < 1) throw new IllegalArgumentException("layer " + directions.firstKey() + " has no slot in a GGUF control vector");
        Map<String, Object> kv = new LinkedHashMap<>();
        kv.put("general.architecture", ARCHITECTURE);
        kv.put(MODEL_HINT, modelHint == null ? "unknown" : modelHint);
        kv.put(LAYER_COUNT, new U32(directions.size()));
        extra.forEach((k, v) -> {
            if (!kv.containsKey(k)) kv.put(k, v);
        });
        ByteArrayBuilder out = new ByteArrayBuilder();
        out.i32(MAGIC).i32(3).i64(directions.size()).i64(kv.size());
        kv.forEach((k, v) -> {
            out.str(k);
            if (v instanceof String s) out.i32(STRING).str(s);
            else if (v instanceof U32 u) out.i32(U32).i32(u.value);
            else if (v instanceof Integer || v instanceof Long) out.i32(I64).i64(((Number) v).longValue());
            else if (v instanceof Float || v instanceof Double) out.i32(F64).f64(((Number) v).doubleValue());
            else if (v instanceof Boolean z) out.i32(BOOL).u8(z ? 1 : 0);
            else throw new IllegalArgumentException("GGUF metadata '" + k + "': unsupported value " + v);
        });
        long offset = 0;
        for (Map.Entry<Integer, float[]> d : directions.entrySet()) {
            out.str(TENSOR_PREFIX + d.getKey()).i32(1).i64(d.getValue().length).i32(GGML_F32).i64(offset);
            offset = align(offset + 4L * d.getValue().length, DEFAULT_ALIGNMENT);
        }
        out.pad(DEFAULT_ALIGNMENT);
        for (float[] v : directions.values()) {
            for (float x : v) out.f32(x);
            out.pad(DEFAULT_ALIGNMENT);
        }
        VectorFile.writeAtomically(file, out.bytes());
    }

    /** A u32 metadata value (layer_count), as repeng and EasySteer write it. */
    private record U32(int value) {
    }

    /** Little-endian bytes, growing. */
    private static final class ByteArrayBuilder {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuffer room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
            return buf;
        }

        ByteArrayBuilder u8(int v) { room(1).put((byte) v); return this; }
        ByteArrayBuilder i32(int v) { room(4).putInt(v); return this; }
        ByteArrayBuilder i64(long v) { room(8).putLong(v); return this; }
        ByteArrayBuilder f32(float v) { room(4).putFloat(v); return this; }
        ByteArrayBuilder f64(double v) { room(8).putDouble(v); return this; }

        ByteArrayBuilder str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            room(b.length).put(b);
            return this;
        }

        void pad(int alignment) {
            while (buf.position() % alignment != 0) u8(0);
        }

        byte[] bytes() {
            byte[] out = new byte[buf.position()];
            buf.duplicate().flip().get(out);
            return out;
        }
    }
}
