package dev.steer.models.hf;

import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.HostTensor;
import dev.steer.models.Fixtures;
import dev.steer.models.gemma2.Gemma2Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    private static final Path FIXTURE = Fixtures.tinyGemma2();
    private static final String UP3 = "model.layers.3.mlp.up_proj.weight";

    @TempDir
    Path tmp;

    @Test
    void opensTheFixture() {
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            assertEquals(FIXTURE, c.dir());
            assertEquals("gemma2", c.config().get("model_type").getAsString());
            assertEquals(46, c.names().size());
            assertTrue(c.has("model.norm.weight"));
            assertFalse(c.has("lm_head.weight"));
            HostTensor embed = c.tensor("model.embed_tokens.weight");
            assertEquals(-0.267578125f, embed.toFloatArray()[0]);
            c.expect(Gemma2Config.read(FIXTURE).weightShapes());
        }
    }

    @Test
    void configIsACopy() {
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            c.config().addProperty("model_type", "llama");
            assertEquals("gemma2", c.config().get("model_type").getAsString());
        }
    }

    @Test
    void expectReportsAWrongShape() {
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put("model.norm.weight", new long[] {64});
            shapes.put(UP3, new long[] {160, 65});
            BadInputException e = assertThrows(BadInputException.class, () -> c.expect(shapes));
            assertEquals(FIXTURE + ": tensor " + UP3 + " has shape [160, 64], expected [160, 65]", e.getMessage());
        }
    }

    @Test
    void expectReportsTheFirstMissingTensor() {
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put("model.layers.4.input_layernorm.weight", new long[] {64});
            shapes.put("lm_head.weight", new long[] {384, 64});
            BadInputException e = assertThrows(BadInputException.class, () -> c.expect(shapes));
            assertTrue(e.getMessage().startsWith(FIXTURE + ": tensor model.layers.4.input_layernorm.weight is missing"),
                    e.getMessage());
        }
    }

    @Test
    void missingTensorNamesTensorAndDirectory() {
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            BadInputException e = assertThrows(BadInputException.class, () -> c.tensor("lm_head.weight"));
            assertEquals(FIXTURE + ": checkpoint has no tensor lm_head.weight", e.getMessage());
        }
    }

    @Test
    void readsShardedCheckpoints() throws IOException {
        Path dir = shardedCopy(tmp.resolve("sharded"));
        try (Checkpoint original = Checkpoint.open(FIXTURE); Checkpoint sharded = Checkpoint.open(dir)) {
            assertEquals(original.names(), sharded.names());
            for (String name : original.names()) {
                assertArrayEquals(original.tensor(name).shape(), sharded.tensor(name).shape(), name);
                // bf16 → f32 is exact, so the F32 shards hold exactly the fixture's values.
                assertArrayEquals(original.tensor(name).toFloatArray(), sharded.tensor(name).toFloatArray(), name);
            }
            assertEquals("F32", sharded.tensor(UP3).dtype());
            sharded.expect(Gemma2Config.read(dir).weightShapes());
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Path dir = shardedCopy(tmp.resolve("sharded"));
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve(Checkpoint.INDEX).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("shard model-00002-of-00002.safetensors"), e.getMessage());
    }

    @Test
    void indexPointingAtTheWrongShard() throws IOException {
        Path dir = shardedCopy(tmp.resolve("sharded"));
        Path index = dir.resolve(Checkpoint.INDEX);
        Files.writeString(index, Files.readString(index).replace(
                "\"model.norm.weight\":\"model-00002-of-00002.safetensors\"",
                "\"model.norm.weight\":\"model-00001-of-00002.safetensors\""));
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("model.norm.weight") && e.getMessage().contains("does not contain it"),
                e.getMessage());
    }

    @Test
    void missingDirectory() {
        Path dir = tmp.resolve("absent");
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertEquals("model directory " + dir + " does not exist", e.getMessage());
    }

    @Test
    void noConfig() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir + ": no config.json"), e.getMessage());
    }

    @Test
    void configThatIsNotJson() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": ");
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json") + ": not valid JSON"), e.getMessage());
    }

    @Test
    void noWeights() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("m"));
        Files.copy(FIXTURE.resolve("config.json"), dir.resolve("config.json"));
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir + ": no model.safetensors or model.safetensors.index.json"),
                e.getMessage());
        Files.writeString(dir.resolve("pytorch_model.bin"), "pickle");
        e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("pytorch_model.bin"), e.getMessage());
    }

    @Test
    void corruptWeightsNameTheFile() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("m"));
        Files.copy(FIXTURE.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("model.safetensors"), "<html>404</html>");
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("model.safetensors").toString()), e.getMessage());
    }

    /** The fixture re-saved as two F32 shards with an index, as transformers' save_pretrained(max_shard_size) does. */
    static Path shardedCopy(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(FIXTURE.resolve("config.json"), dir.resolve("config.json"));
        JsonObject weightMap = new JsonObject();
        try (Checkpoint c = Checkpoint.open(FIXTURE)) {
            List<String> names = new ArrayList<>(c.names());
            for (int shard = 0; shard < 2; shard++) {
                String file = "model-0000" + (shard + 1) + "-of-00002.safetensors";
                Map<String, float[]> tensors = new HashMap<>();
                Map<String, long[]> shapes = new HashMap<>();
                for (String name : names.subList(shard * names.size() / 2, (shard + 1) * names.size() / 2)) {
                    tensors.put(name, c.tensor(name).toFloatArray());
                    shapes.put(name, c.tensor(name).shape());
                    weightMap.addProperty(name, file);
                }
                SafetensorsWriter.write(dir.resolve(file), tensors, shapes, Map.of("format", "pt"));
            }
        }
        JsonObject index = new JsonObject();
        JsonObject metadata = new JsonObject();
        metadata.addProperty("total_size", 888_000);
        index.add("metadata", metadata);
        index.add("weight_map", weightMap);
        Files.writeString(dir.resolve(Checkpoint.INDEX), index.toString());
        return dir;
    }
}
