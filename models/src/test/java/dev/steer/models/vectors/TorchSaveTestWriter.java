package dev.steer.models.vectors;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * torch.save zips built by hand, opcode by opcode as torch's pickler (protocol 2) writes them: {@code ROOT/data.pkl}
 * with {@code _rebuild_tensor_v2} over persistent storage ids, and {@code ROOT/data/K} storages; also numpy's
 * {@code _reconstruct} pickling of an ndarray, and arbitrary globals (to test the refusal).
 */
final class TorchSaveTestWriter {
    final ByteArrayOutputStream pkl = new ByteArrayOutputStream();
    final Map<String, byte[]> storages = new LinkedHashMap<>();

    TorchSaveTestWriter() {
        op(0x80).op(2);   // PROTO 2
    }

    TorchSaveTestWriter op(int b) {
        pkl.write(b);
        return this;
    }

    TorchSaveTestWriter mark() {
        return op('(');
    }

    TorchSaveTestWriter tuple() {
        return op('t');
    }

    TorchSaveTestWriter global(String module, String name) {
        op('c');
        byte[] b = (module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII);
        pkl.write(b, 0, b.length);
        return this;
    }

    TorchSaveTestWriter str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        pkl.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array(), 0, 4);
        pkl.write(b, 0, b.length);
        return this;
    }

    TorchSaveTestWriter integer(long v) {
        op('J');
        pkl.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array(), 0, 4);
        return this;
    }

    TorchSaveTestWriter ints(long... v) {
        mark();
        for (long x : v) integer(x);
        return tuple();
    }

    /** A tensor: _rebuild_tensor_v2(storage KEY of TYPE with numel elements, offset, shape, stride, False, OrderedDict()). */
    TorchSaveTestWriter tensor(String storageType, String key, long numel, long offset, long[] shape, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');   // BINPERSID
        integer(offset).ints(shape).ints(stride).op(0x89);   // NEWFALSE
        global("collections", "OrderedDict").op(')').op('R');
        return tuple().op('R');
    }

    /** numpy._core.multiarray._reconstruct(ndarray, (0,), b'b') then BUILD (1, shape, dtype('f4'), False, raw bytes). */
    TorchSaveTestWriter numpy(String code, long[] shape, byte[] raw) {
        global("numpy._core.multiarray", "_reconstruct").mark().global("numpy", "ndarray").ints(0).latin1("b").tuple().op('R');
        mark().integer(1).ints(shape);
        global("numpy", "dtype").mark().str(code).op(0x89).op(0x88).tuple().op('R');
        mark().integer(3).str("<").op('N').op('N').op('N').integer(-1).integer(-1).integer(0).tuple().op('b');
        op(0x89).latin1(new String(raw, StandardCharsets.ISO_8859_1)).tuple().op('b');
        return this;
    }

    /** bytes as protocol 2 pickles them: _codecs.encode(str, 'latin1'). */
    TorchSaveTestWriter latin1(String s) {
        return global("_codecs", "encode").mark().str(s).str("latin1").tuple().op('R');
    }

    TorchSaveTestWriter storage(String key, byte[] data) {
        storages.put(key, data);
        return this;
    }

    Path write(Path file, String root) throws IOException {
        op('.');
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            entry(zip, root + "/data.pkl", pkl.toByteArray());
            entry(zip, root + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> s : storages.entrySet()) entry(zip, root + "/data/" + s.getKey(), s.getValue());
            entry(zip, root + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
        return file;
    }

    private static void entry(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(data);
        zip.closeEntry();
    }

    static byte[] doubles(double... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) b.putDouble(x);
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    static byte[] bf16(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putShort((short) (Float.floatToIntBits(x) >>> 16));
        return b.array();
    }
}
