package dev.steer.models.hf;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes float32 safetensors files that Python's {@code safetensors} reads: header JSON padded with spaces to a
 * multiple of 8 bytes, tensors in name order with contiguous data offsets.
 *
 * <p>The write is atomic: a temporary file in the target's directory is written, forced to disk and renamed over the
 * target, so a crash or error never leaves a partial vector or checkpoint behind (a sweep reading the file
 * concurrently sees the old or the new one).
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /**
     * @param tensors  name → row-major float32 values
     * @param shapes   name → shape; every tensor needs one whose product is its length
     * @param metadata {@code __metadata__} entries; null or empty for none
     */
    public static void write(Path file, Map<String, float[]> tensors, Map<String, long[]> shapes,
                             Map<String, String> metadata) {
        Map<String, float[]> sorted = new TreeMap<>(tensors);
        byte[] header = header(sorted, shapes, metadata);
        AtomicWrite.write(file, out -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicWrite.fully(out, length);
            AtomicWrite.fully(out, ByteBuffer.wrap(header));
            ByteBuffer block = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] values : sorted.values()) {
                for (int from = 0; from < values.length; ) {
                    int n = Math.min(values.length - from, block.capacity() / 4);
                    block.clear();
                    block.asFloatBuffer().put(values, from, n);
                    block.limit(n * 4);
                    AtomicWrite.fully(out, block);
                    from += n;
                }
            }
        });
    }

    private static byte[] header(Map<String, float[]> sorted, Map<String, long[]> shapes, Map<String, String> metadata) {
        JsonObject json = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            new TreeMap<>(metadata).forEach(meta::addProperty);
            json.add("__metadata__", meta);
        }
        long offset = 0;
        for (Map.Entry<String, float[]> e : sorted.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a tensor name");
            long[] shape = shapes.get(name);
            if (shape == null) throw new IllegalArgumentException("no shape given for tensor " + name);
            long n = 1;
            for (long d : shape) n *= d;
            if (n != e.getValue().length) {
                throw new IllegalArgumentException("tensor " + name + " has " + e.getValue().length
                        + " values but shape " + Arrays.toString(shape));
            }
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", "F32");
            JsonArray shapeJson = new JsonArray();
            for (long d : shape) shapeJson.add(d);
            entry.add("shape", shapeJson);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + 4 * n);
            entry.add("data_offsets", offsets);
            json.add(name, entry);
            offset += 4 * n;
        }
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(text, padded);
        Arrays.fill(out, text.length, padded, (byte) ' ');
        return out;
    }

}
