package dev.steer.models.gemma2;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import dev.steer.models.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Gemma2ConfigTest {
    private static final Path FIXTURE = Fixtures.tinyGemma2();

    @TempDir
    Path tmp;

    @Test
    void readsTheFixture() {
        Gemma2Config c = Gemma2Config.read(FIXTURE);
        assertEquals(384, c.vocabSize());
        assertEquals(64, c.hiddenSize());
        assertEquals(160, c.intermediateSize());
        assertEquals(4, c.numLayers());
        assertEquals(4, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(24, c.headDim());
        assertEquals(24.0, c.queryPreAttnScalar());
        assertEquals(8, c.slidingWindow());
        assertEquals(50.0, c.attnLogitSoftcap());
        assertEquals(30.0, c.finalLogitSoftcap());
        assertEquals(10000.0, c.ropeTheta()); // from rope_parameters.rope_theta
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(List.of("sliding_attention", "full_attention", "sliding_attention", "full_attention"), c.layerTypes());
        assertTrue(c.isSliding(0));
        assertFalse(c.isSliding(3));
        assertTrue(c.tieWordEmbeddings());
        assertEquals("bfloat16", c.dtype());
        assertEquals(2, c.bosId());
        assertArrayEquals(new int[] {1}, c.eosIds());
        assertEquals(0, c.padId());
        assertEquals("gelu_pytorch_tanh", c.hiddenActivation());
        assertEquals(Gemma2Config.preset("tiny"), c);
        assertEquals(c.dims().hidden(), 64);
    }

    @Test
    void weightShapesUseHuggingFaceNames() {
        Gemma2Config c = Gemma2Config.read(FIXTURE);
        Map<String, long[]> shapes = c.weightShapes();
        assertEquals(46, shapes.size());
        assertEquals("model.embed_tokens.weight", shapes.keySet().iterator().next());
        assertArrayEquals(new long[] {96, 64}, shapes.get("model.layers.1.self_attn.q_proj.weight"));
        assertArrayEquals(new long[] {48, 64}, shapes.get("model.layers.1.self_attn.v_proj.weight"));
        assertArrayEquals(new long[] {64, 96}, shapes.get("model.layers.1.self_attn.o_proj.weight"));
        assertArrayEquals(new long[] {64, 160}, shapes.get("model.layers.3.mlp.down_proj.weight"));
        assertArrayEquals(new long[] {64}, shapes.get("model.layers.2.post_feedforward_layernorm.weight"));
        assertFalse(shapes.containsKey("lm_head.weight"));
        // 384·64 + 4·(96·64·2 + 48·64·2 + 3·160·64 + 4·64) + 64
        assertEquals(24576 + 4 * (12288 + 6144 + 30720 + 256) + 64, c.parameterCount());
    }

    /** 2,614,341,888: the parameter count published for gemma-2-2b. */
    @Test
    void gemma2bPreset() {
        Gemma2Config c = Gemma2Config.preset("gemma-2-2b");
        assertEquals(2_614_341_888L, c.parameterCount());
        assertArrayEquals(new long[] {2048, 2304}, c.weightShapes().get("model.layers.25.self_attn.q_proj.weight"));
        assertArrayEquals(new int[] {1, 107}, c.eosIds());
        assertEquals(26, c.layerTypes().size());
        assertTrue(c.isSliding(24));
        assertFalse(c.isSliding(25));
    }

    @Test
    void unknownPresetListsThePresets() {
        BadInputException e = assertThrows(BadInputException.class, () -> Gemma2Config.preset("gemma-7b"));
        assertTrue(e.getMessage().contains("'gemma-7b'") && e.getMessage().contains("gemma-2-2b, tiny"), e.getMessage());
    }

    @Test
    void olderConfigLayout() throws IOException {
        Path dir = variant(o -> {
            o.remove("layer_types");
            o.remove("rope_parameters");
            o.addProperty("rope_theta", 500000.0);
            o.remove("dtype");
            o.addProperty("torch_dtype", "float32");
            o.remove("hidden_activation");
            o.addProperty("hidden_act", "gelu_pytorch_tanh");
            o.add("attn_logit_softcapping", JsonNull.INSTANCE);
            o.remove("final_logit_softcapping");
            o.addProperty("tie_word_embeddings", false);
        });
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [1, 107], \"bos_token_id\": 2}");
        Gemma2Config c = Gemma2Config.read(dir);
        assertEquals(List.of("sliding_attention", "full_attention", "sliding_attention", "full_attention"), c.layerTypes());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals("float32", c.dtype());
        assertEquals(0.0, c.attnLogitSoftcap()); // explicit null: no capping
        assertEquals(30.0, c.finalLogitSoftcap()); // absent: transformers' default
        assertArrayEquals(new int[] {1, 107}, c.eosIds());
        assertFalse(c.tieWordEmbeddings());
        assertArrayEquals(new long[] {384, 64}, c.weightShapes().get("lm_head.weight"));
        assertEquals(Gemma2Config.read(FIXTURE).parameterCount() + 384 * 64, c.parameterCount());
    }

    @Test
    void unsupportedModelType() throws IOException {
        Path dir = variant(o -> o.addProperty("model_type", "llama"));
        assertBad(dir, dir.resolve("config.json") + ": model_type 'llama' is not supported (supported: gemma2)");
    }

    @Test
    void missingRequiredField() throws IOException {
        Path dir = variant(o -> o.remove("head_dim"));
        assertBad(dir, dir.resolve("config.json") + ": missing required field 'head_dim'");
    }

    @Test
    void fieldOfTheWrongType() throws IOException {
        Path dir = variant(o -> o.addProperty("hidden_size", 64.5));
        assertBadContains(dir, "config.json", "'hidden_size'", "64.5");
    }

    @Test
    void unsupportedActivation() throws IOException {
        Path dir = variant(o -> o.addProperty("hidden_activation", "relu"));
        assertBadContains(dir, "config.json", "hidden_activation", "'relu'");
    }

    @Test
    void layerTypesOfTheWrongLength() throws IOException {
        Path dir = variant(o -> {
            JsonArray a = new JsonArray();
            a.add("sliding_attention");
            o.add("layer_types", a);
        });
        assertBadContains(dir, "config.json", "layer_types");
    }

    @Test
    void scaledRope() throws IOException {
        Path dir = variant(o -> o.getAsJsonObject("rope_parameters").addProperty("rope_type", "linear"));
        assertBadContains(dir, "config.json", "rope_type", "'linear'");
    }

    @Test
    void missingDirectoryAndConfig() throws IOException {
        assertBad(tmp.resolve("nope"), "model directory " + tmp.resolve("nope") + " does not exist");
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertBadContains(empty, "no config.json");
    }

    private Path variant(Consumer<JsonObject> edit) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(FIXTURE.resolve("config.json"))).getAsJsonObject();
        edit.accept(o);
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(dir.resolve("config.json"), o.toString());
        return dir;
    }

    private static void assertBad(Path dir, String message) {
        BadInputException e = assertThrows(BadInputException.class, () -> Gemma2Config.read(dir));
        assertEquals(message, e.getMessage());
    }

    private static void assertBadContains(Path dir, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> Gemma2Config.read(dir));
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), e.getMessage());
    }
}
