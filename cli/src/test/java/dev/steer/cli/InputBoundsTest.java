package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.models.hf.SafetensorsFile;
import dev.steer.models.hf.SafetensorsWriter;
import dev.steer.models.text.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Sizes and numbers of a model and a run that used to be accepted and gave NaN, empty text, a crash or reads outside
 * the model: each is now exit 2 naming the field and its bound (issue 15, item 5), checked before the weights load.
 */
class InputBoundsTest {
    @TempDir
    Path tmp;

    /** A copy of the tiny model with config.json edited; weights as they are. */
    Path modelWithConfig(Consumer<JsonObject> edit) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        for (String f : new String[] {"generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"})
            Files.copy(CliRun.TINY.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        JsonObject o = JsonParser.parseString(Files.readString(CliRun.TINY.resolve("config.json"))).getAsJsonObject();
        edit.accept(o);
        Files.writeString(dir.resolve("config.json"), o.toString());
        return dir;
    }

    static Stream<Arguments> configOutOfBounds() {
        return Stream.of(
                Arguments.of("query_pre_attn_scalar 0", (Consumer<JsonObject>) o -> o.addProperty("query_pre_attn_scalar", 0), new String[] {"query_pre_attn_scalar", "positive", "0.0"}),
                Arguments.of("query_pre_attn_scalar < 0", (Consumer<JsonObject>) o -> o.addProperty("query_pre_attn_scalar", -24), new String[] {"query_pre_attn_scalar", "positive", "-24.0"}),
                Arguments.of("query_pre_attn_scalar below float32", (Consumer<JsonObject>) o -> o.addProperty("query_pre_attn_scalar", 1e-50), new String[] {"query_pre_attn_scalar", "float32", "1.0E-50"}),
                Arguments.of("rms_norm_eps < 0", (Consumer<JsonObject>) o -> o.addProperty("rms_norm_eps", -1e-6), new String[] {"rms_norm_eps", ">= 0", "-1.0E-6"}),
                Arguments.of("rope_theta 0", (Consumer<JsonObject>) o -> o.getAsJsonObject("rope_parameters").addProperty("rope_theta", 0), new String[] {"rope_theta", "positive", "0.0"}),
                Arguments.of("old-style rope_theta < 0", (Consumer<JsonObject>) o -> {
                    o.remove("rope_parameters");
                    o.addProperty("rope_theta", -10000);
                }, new String[] {"rope_theta", "positive", "-10000.0"}),
                Arguments.of("attn softcap 0", (Consumer<JsonObject>) o -> o.addProperty("attn_logit_softcapping", 0), new String[] {"attn_logit_softcapping", "positive", "null"}),
                Arguments.of("final softcap < 0", (Consumer<JsonObject>) o -> o.addProperty("final_logit_softcapping", -30), new String[] {"final_logit_softcapping", "positive", "-30.0"}),
                Arguments.of("bos outside the vocabulary", (Consumer<JsonObject>) o -> o.addProperty("bos_token_id", 384), new String[] {"bos_token_id", "0..383", "384"}),
                Arguments.of("eos outside the vocabulary", (Consumer<JsonObject>) o -> {
                    JsonArray a = new JsonArray();
                    a.add(1);
                    a.add(500);
                    o.add("eos_token_id", a);
                }, new String[] {"eos_token_id", "0..383", "500"}),
                Arguments.of("pad < 0", (Consumer<JsonObject>) o -> o.addProperty("pad_token_id", -1), new String[] {"pad_token_id", "0..383", "-1"}),
                Arguments.of("vocab_size 0", (Consumer<JsonObject>) o -> o.addProperty("vocab_size", 0), new String[] {"vocab_size", "positive", "0"}),
                Arguments.of("max_position_embeddings 0", (Consumer<JsonObject>) o -> o.addProperty("max_position_embeddings", 0), new String[] {"max_position_embeddings", "positive"}),
                Arguments.of("sliding_window < 0", (Consumer<JsonObject>) o -> o.addProperty("sliding_window", -8), new String[] {"sliding_window", "positive", "-8"}),
                Arguments.of("odd head_dim", (Consumer<JsonObject>) o -> o.addProperty("head_dim", 23), new String[] {"head_dim", "even", "23"}),
                Arguments.of("kv heads not dividing heads", (Consumer<JsonObject>) o -> o.addProperty("num_key_value_heads", 3), new String[] {"num_attention_heads", "num_key_value_heads"}),
                Arguments.of("attention biases", (Consumer<JsonObject>) o -> o.addProperty("attention_bias", true), new String[] {"attention_bias"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configOutOfBounds")
    void configFieldOutsideItsBound(String what, Consumer<JsonObject> edit, String[] fragments) throws Exception {
        Path dir = modelWithConfig(edit);
        String[] all = Arrays.copyOf(fragments, fragments.length + 1);
        all[fragments.length] = dir.resolve("config.json").toString();
        BadInputTest.assertBad(BadInputTest.generate(dir), all);
    }

    @Test
    void numberTooLargeForADouble() throws Exception {
        Path dir = modelWithConfig(o -> { });
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")).replace("1e-06", "1e400"));
        BadInputTest.assertBad(BadInputTest.generate(dir), "rms_norm_eps", "finite");
    }

    @Test
    void eosOfGenerationConfigOutsideTheVocabulary() throws Exception {
        Path dir = modelWithConfig(o -> { });
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [1, 999]}");
        BadInputTest.assertBad(BadInputTest.generate(dir), dir.resolve("generation_config.json").toString(), "eos_token_id", "0..383", "999");
    }

    /** 512 positions: 721 prompt tokens, or 16 + 600 new ones, are refused in every command that runs the model. */
    @Test
    void promptAndNewTokensBeyondMaxPositionEmbeddings() {
        String longPrompt = "The river runs past the old mill. ".repeat(120);
        CliRun g = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", longPrompt, "--max-new-tokens", "2");
        BadInputTest.assertBad(g, "max_position_embeddings (512)", "prompt of ");
        CliRun n = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hello there", "--max-new-tokens", "600");
        BadInputTest.assertBad(n, "max_new_tokens 600", "max_position_embeddings (512)", "at most");
        BadInputTest.assertBad(CliRun.of("norms", "--model", CliRun.TINY.toString(), "--prompt", longPrompt), "max_position_embeddings (512)");
        // The bound itself is allowed: prompt + new tokens = 512 exactly runs; one more is refused.
        int promptTokens;
        try (TextTokenizer t = TextTokenizer.open(CliRun.TINY)) {
            promptTokens = t.encode("Hello there").length;
        }
        String atBound = Integer.toString(512 - promptTokens), past = Integer.toString(513 - promptTokens);
        CliRun ok = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hello there", "--max-new-tokens", atBound, "--no-stop");
        assertEquals(0, ok.code(), ok.err());
        BadInputTest.assertBad(CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "Hello there", "--max-new-tokens", past),
                "max_new_tokens " + past, "= 513 positions");
    }

    @Test
    void nanAndInfiniteWeightsAreNamed() throws Exception {
        Path nan = modelWithWeights(tmp.resolve("nan"), t -> ((float[]) t.get("model.layers.1.mlp.up_proj.weight")[0])[5] = Float.NaN);
        BadInputTest.assertBad(BadInputTest.generate(nan), "model.layers.1.mlp.up_proj.weight", "non-finite", "element 5");
        Path inf = modelWithWeights(tmp.resolve("inf"), t -> ((float[]) t.get("model.embed_tokens.weight")[0])[24575] = Float.NEGATIVE_INFINITY);
        BadInputTest.assertBad(BadInputTest.generate(inf), "model.embed_tokens.weight", "non-finite", "element 24575");
    }

    /** vocab_size 300 with embeddings to match, but a tokenizer whose ids reach 383: was an exit 1 on the first id >= 300. */
    @Test
    void vocabSizeSmallerThanTheTokenizer() throws Exception {
        Path dir = modelWithWeights(tmp.resolve("v"), t -> t.put("model.embed_tokens.weight",
                new Object[] {Arrays.copyOf((float[]) t.get("model.embed_tokens.weight")[0], 300 * 64), new long[] {300, 64}}));
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"vocab_size\": 384", "\"vocab_size\": 300"));
        BadInputTest.assertBad(BadInputTest.generate(dir), cfg.toString(), "vocab_size 300", "384");
    }

    /** A shard index that names a file outside the model directory: refused, even though the file is a valid shard. */
    @Test
    void shardOutsideTheModelDirectory() throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.copy(CliRun.TINY.resolve("model.safetensors"), outside.resolve("x.safetensors"));
        Path dir = Files.createDirectories(tmp.resolve("m"));
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"})
            Files.copy(CliRun.TINY.resolve(f), dir.resolve(f));
        JsonObject map = new JsonObject();
        try (SafetensorsFile f = SafetensorsFile.open(CliRun.TINY.resolve("model.safetensors"))) {
            for (String n : f.names()) map.addProperty(n, "../outside/x.safetensors");
        }
        JsonObject index = new JsonObject();
        index.add("weight_map", map);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        BadInputTest.assertBad(BadInputTest.generate(dir), "model.safetensors.index.json", "../outside/x.safetensors", "outside the model directory");
        BadInputTest.assertBad(CliRun.of("info", "--model", dir.toString()), "outside the model directory");
        // An absolute path is refused as well.
        for (var e : map.entrySet()) map.addProperty(e.getKey(), outside.resolve("x.safetensors").toAbsolutePath().toString());
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        BadInputTest.assertBad(CliRun.of("info", "--model", dir.toString()), "outside the model directory");
    }

    /** Two tensors whose data_offsets share bytes (layer 0's k and v projections, same size): refused. */
    @Test
    void overlappingTensorData() throws Exception {
        Path dir = modelWithConfig(o -> { });
        Path st = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(st);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonObject header = JsonParser.parseString(new String(bytes, 8, (int) n, StandardCharsets.UTF_8)).getAsJsonObject();
        JsonObject k = header.getAsJsonObject("model.layers.0.self_attn.k_proj.weight");
        JsonObject v = header.getAsJsonObject("model.layers.0.self_attn.v_proj.weight");
        JsonArray offsets = k.getAsJsonArray("data_offsets").deepCopy();
        long shift = 256;   // v starts 256 bytes into k's data: a partial overlap
        offsets.set(0, new com.google.gson.JsonPrimitive(offsets.get(0).getAsLong() + shift));
        offsets.set(1, new com.google.gson.JsonPrimitive(offsets.get(1).getAsLong() + shift));
        v.add("data_offsets", offsets);
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + (int) (bytes.length - 8 - n)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(bytes, (int) (8 + n), (int) (bytes.length - 8 - n));
        Files.write(st, out.array());
        BadInputTest.assertBad(BadInputTest.generate(dir), st.toString(), "model.layers.0.self_attn.k_proj.weight",
                "model.layers.0.self_attn.v_proj.weight", "overlap");
    }

    /** A template that renders to nothing for a user turn: exit 2 naming the template, not an exit 1 on an empty prompt. */
    @Test
    void chatTemplateRenderingAnEmptyPrompt() throws Exception {
        Path dir = modelWithConfig(o -> { });
        JsonObject tc = JsonParser.parseString(Files.readString(dir.resolve("tokenizer_config.json"))).getAsJsonObject();
        tc.addProperty("chat_template", "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% endif %}{% endfor %}");
        Files.writeString(dir.resolve("tokenizer_config.json"), tc.toString());
        BadInputTest.assertBad(BadInputTest.generate(dir, "--chat"), "tokenizer_config.json", "chat template", "empty prompt", "user");
    }

    /** A copy of the tiny model in {@code dir} whose weights pass through {@code edit} (name -> {values, shape}). */
    static Path modelWithWeights(Path dir, Consumer<Map<String, Object[]>> edit) throws Exception {
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"})
            Files.copy(CliRun.TINY.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        Map<String, Object[]> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(CliRun.TINY.resolve("model.safetensors"))) {
            for (String n : f.names()) tensors.put(n, new Object[] {f.tensor(n).toFloatArray(), f.tensor(n).shape()});
        }
        edit.accept(tensors);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors.forEach((n, v) -> {
            values.put(n, (float[]) v[0]);
            shapes.put(n, (long[]) v[1]);
        });
        SafetensorsWriter.write(dir.resolve("model.safetensors"), values, shapes, Map.of());
        return dir;
    }
}
