package dev.steer.models.hf;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.tensor.Bf16;
import dev.steer.models.gemma2.Gemma2Config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a Gemma-2 checkpoint of random weights (normal-ish, std 0.02) in F32 or BF16 safetensors, streamed, so a
 * multi-GB checkpoint costs the writer no heap: for the loading-memory test, and (its {@link #main}) for
 * tools/bench/cpu-floor.sh's gemma-2-2b-layout peak-RSS figures.
 */
public final class RandomCheckpoint {
    private RandomCheckpoint() {
    }

    /** {@code DIR DTYPE [hidden intermediate layers vocab | gemma-2-2b]}: F32 or BF16. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        String dtype = args[1];
        if (args.length > 2 && args[2].equals("gemma-2-2b")) write(dir, dtype, 2304, 9216, 26, 256000, 8, 4, 256);
        else write(dir, dtype, Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), 8, 4, 128);
    }

    /** config.json (the tiny fixture's, resized) and model.safetensors of {@code dtype} F32 or BF16 into {@code dir}. */
    public static void write(Path dir, String dtype, int hidden, int intermediate, int layers, int vocab, int heads, int kvHeads, int headDim)
            throws IOException {
        Files.createDirectories(dir);
        JsonObject cfg = JsonParser.parseString(Files.readString(Path.of(RandomCheckpoint.class.getResource("/fixtures/tiny-gemma2/config.json").getPath())))
                .getAsJsonObject();
        cfg.addProperty("hidden_size", hidden);
        cfg.addProperty("intermediate_size", intermediate);
        cfg.addProperty("num_hidden_layers", layers);
        cfg.addProperty("vocab_size", vocab);
        cfg.addProperty("num_attention_heads", heads);
        cfg.addProperty("num_key_value_heads", kvHeads);
        cfg.addProperty("head_dim", headDim);
        cfg.addProperty("query_pre_attn_scalar", headDim);
        cfg.addProperty("dtype", dtype.equals("BF16") ? "bfloat16" : "float32");
        com.google.gson.JsonArray types = new com.google.gson.JsonArray();
        for (int i = 0; i < layers; i++) types.add(i % 2 == 0 ? "sliding_attention" : "full_attention");
        cfg.add("layer_types", types);
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        Map<String, long[]> shapes = Gemma2Config.read(dir).weightShapes();
        int bytes = dtype.equals("BF16") ? 2 : 4;
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            if (header.length() > 1) header.append(',');
            header.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":")
                    .append(java.util.Arrays.toString(e.getValue()).replace(" ", "")).append(",\"data_offsets\":[")
                    .append(offset).append(',').append(offset + n * bytes).append("]}");
            offset += n * bytes;
        }
        header.append('}');
        while ((header.length() + 8) % 8 != 0) header.append(' ');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        SplittableRandom rnd = new SplittableRandom(17);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer block = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            block.putLong(h.length).put(h);
            for (long[] shape : shapes.values()) {
                long n = 1;
                for (long d : shape) n *= d;
                float std = shape.length == 1 ? 0.1f : 0.02f;
                for (long i = 0; i < n; i++) {
                    if (block.remaining() < 4) {
                        block.flip();
                        while (block.hasRemaining()) out.write(block);
                        block.clear();
                    }
                    // sum of two uniforms: cheap, centred, std ~ std
                    float v = (float) ((rnd.nextDouble() + rnd.nextDouble() - 1) * 2.45 * std);
                    if (bytes == 2) block.putShort(Bf16.fromFloat(v));
                    else block.putFloat(v);
                }
            }
            block.flip();
            while (block.hasRemaining()) out.write(block);
        }
    }
}
