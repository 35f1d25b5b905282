package dev.steer.models.gemma2;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.tensor.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** TEMPORARY: bf16 safetensors reader until the hf branch lands. */
final class ScratchLoader {
    static Map<String, HostTensor> load(Path file) throws Exception {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long hl = bb.getLong(0);
        JsonObject h = JsonParser.parseString(new String(all, 8, (int) hl, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, HostTensor> m = new HashMap<>();
        for (String name : h.keySet()) {
            if (name.equals("__metadata__")) continue;
            JsonObject t = h.getAsJsonObject(name);
            long[] shape = new long[t.getAsJsonArray("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = t.getAsJsonArray("shape").get(i).getAsLong();
            long begin = t.getAsJsonArray("data_offsets").get(0).getAsLong() + 8 + hl;
            m.put(name, new HostTensor() {
                public String name() { return name; }
                public long[] shape() { return shape; }
                public String dtype() { return "BF16"; }
                public void readFloats(long offset, FloatBuffer dst) {
                    while (dst.hasRemaining()) {
                        int bits = (bb.getShort((int) (begin + 2 * offset++)) & 0xffff) << 16;
                        dst.put(Float.intBitsToFloat(bits));
                    }
                }
            });
        }
        return m;
    }

    static Gemma2Config tinyConfig() {
        return new Gemma2Config(384, 64, 160, 4, 4, 2, 24, 24, 8, 50, 30, 10000, 1e-6,
                List.of("sliding_attention", "full_attention", "sliding_attention", "full_attention"), true, "bfloat16", 2, new int[] {1}, 0, "gelu_pytorch_tanh");
    }
}
