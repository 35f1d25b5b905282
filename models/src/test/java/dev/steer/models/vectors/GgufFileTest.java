package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import dev.steer.engine.steering.SteeringVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GGUF control vectors in the layouts repeng and cvector-generator write, read back exactly; steer's writer round-trips. */
class GgufFileTest {
    @TempDir
    Path tmp;

    static float[] vec(int layer, int h) {
        float[] v = new float[h];
        for (int i = 0; i < h; i++) v[i] = (float) Math.sin(layer * 7.1 + i * 0.37) * (layer + 1);
        return v;
    }

    @Test
    void repengLayoutDescendingOrderU32LayerCount() throws IOException {
        GgufTestWriter w = new GgufTestWriter().string("general.architecture", "controlvector")
                .string("controlvector.model_hint", "llama").u32("controlvector.layer_count", 3);
        for (int l = 3; l >= 1; l--) w.tensor("direction." + l, vec(l, 5), GgufTestWriter.F32);
        Path f = Files.write(tmp.resolve("repeng.gguf"), w.bytes());
        VectorContents c = VectorFile.open(f);
        assertEquals("gguf", c.format());
        assertEquals("float32", c.dtype());
        assertEquals(5, c.hiddenSize());
        assertEquals(List.of(1, 2, 3), c.layers());
        assertEquals(List.of("direction.1", "direction.2", "direction.3"), c.vectors().stream().map(VectorContents.Entry::key).toList());
        for (int l = 1; l <= 3; l++) {
            assertArrayEquals(vec(l, 5), c.atLayer(l).values());
            assertEquals(l, c.atLayer(l).provenance().layer());
            assertArrayEquals(vec(l, 5), c.select("direction." + l).values());
            assertArrayEquals(vec(l, 5), c.select(Integer.toString(l)).values());
        }
        assertEquals("3", c.metadata().get("controlvector.layer_count"));
        assertEquals("llama", c.metadata().get("controlvector.model_hint"));
        assertEquals("llama", c.atLayer(2).provenance().model());
        assertEquals(f + "#direction.2", c.atLayer(2).source());
        BadInputException e = assertThrows(BadInputException.class, () -> c.atLayer(7));
        assertTrue(e.getMessage().contains("layer 7") && e.getMessage().contains("1-3"), e.getMessage());
        String warning = VectorFile.modelMismatch(c.atLayer(1));
        assertTrue(warning != null && warning.contains("'llama'") && warning.contains("controlvector.model_hint"), warning);
        assertThrows(BadInputException.class, () -> VectorFile.read(f, null), "several layers, no key");
        assertArrayEquals(vec(2, 5), VectorFile.read(f, null, 2).values());
    }

    @Test
    void cvectorGeneratorLayoutI32LayerCountAndVersion2() throws IOException {
        GgufTestWriter w = new GgufTestWriter().version(2).string("general.architecture", "controlvector")
                .string("controlvector.model_hint", "gemma2").i32("controlvector.layer_count", 2);
        w.tensor("direction.1", vec(1, 7), GgufTestWriter.F32).tensor("direction.2", vec(2, 7), GgufTestWriter.F32);
        Path f = Files.write(tmp.resolve("cvec.gguf"), w.bytes());
        VectorContents c = VectorFile.open(f);
        assertEquals(List.of(1, 2), c.layers());
        assertArrayEquals(vec(1, 7), c.atLayer(1).values());
        assertArrayEquals(vec(2, 7), c.atLayer(2).values());
        assertEquals("2", c.metadata().get("controlvector.layer_count"));
        assertNull(VectorFile.modelMismatch(c.atLayer(1)), "a Gemma hint is no mismatch");
    }

    @Test
    void halfAndBfloat16TensorsAndEasySteerMetadata() throws IOException {
        float[] h = {1f, -2f, 0.5f, 0.25f, -0.125f, 3f};
        float[] b = {1.5f, -0.375f, 2f, 40f, -1f, 0.0625f};
        GgufTestWriter w = new GgufTestWriter().string("general.architecture", "controlvector")
                .string("controlvector.model_hint", "unknown").string("controlvector.method", "diffmean")
                .u32("controlvector.layer_count", 3).f32("controlvector.normalize", 1f);
        w.tensor("direction.0", h, GgufTestWriter.F16).tensor("direction.1", b, GgufTestWriter.BF16).tensor("direction.2", h, GgufTestWriter.F32);
        Path f = Files.write(tmp.resolve("half.gguf"), w.bytes());
        VectorContents c = VectorFile.open(f);
        assertEquals("mixed", c.dtype());
        assertArrayEquals(h, c.atLayer(0).values());
        assertArrayEquals(b, c.atLayer(1).values());
        assertEquals("diffmean", c.atLayer(1).provenance().method());
        assertEquals("1.0", c.metadata().get("controlvector.normalize"));
        assertNull(c.atLayer(0).provenance().model(), "model_hint 'unknown' names no model");
    }

    @Test
    void steersWriterRoundTripsEveryValueAndKey() {
        TreeMap<Integer, float[]> layers = new TreeMap<>();
        for (int l : new int[] {1, 4, 9}) layers.put(l, vec(l, 33));
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("controlvector.method", "mean_diff");
        extra.put("controlvector.trait", "optimism");
        extra.put("controlvector.vector_norm.4", 2.5);
        extra.put("controlvector.n_pos", 12);
        Path f = tmp.resolve("steer.gguf");
        VectorFile.writeGguf(f, layers, "gemma2", extra);
        VectorContents c = VectorFile.open(f);
        assertEquals(List.of(1, 4, 9), c.layers());
        for (int l : layers.keySet()) assertArrayEquals(layers.get(l), c.atLayer(l).values());
        assertEquals("3", c.metadata().get("controlvector.layer_count"));
        assertEquals("gemma2", c.metadata().get("controlvector.model_hint"));
        assertEquals("2.5", c.metadata().get("controlvector.vector_norm.4"));
        assertEquals("12", c.metadata().get("controlvector.n_pos"));
        SteeringVector v = c.atLayer(4);
        assertEquals("mean_diff", v.provenance().method());
        assertEquals("optimism", v.provenance().trait());
        assertThrows(IllegalArgumentException.class, () -> VectorFile.writeGguf(tmp.resolve("zero.gguf"),
                new TreeMap<>(Map.of(0, new float[] {1f})), null, Map.of()), "llama.cpp has no slot for layer 0");
    }

    @Test
    void everyTruncationIsBadInput() throws IOException {
        GgufTestWriter w = new GgufTestWriter().string("general.architecture", "controlvector").u32("controlvector.layer_count", 2)
                .tensor("direction.2", vec(2, 9), GgufTestWriter.F32).tensor("direction.1", vec(1, 9), GgufTestWriter.F32);
        byte[] full = w.bytes();
        // The last tensor's 36 bytes end 28 bytes of alignment padding before the end: a cut there loses nothing.
        int end = full.length - 28;
        for (int n = 0; n < end; n += 3) {
            Path f = Files.write(tmp.resolve("cut" + n + ".gguf"), Arrays.copyOf(full, n));
            BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.open(f), "cut at " + n);
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
    }

    @Test
    void modelFilesAndStrangeTensorsAreRefused() throws IOException {
        Path model = Files.write(tmp.resolve("model.gguf"), new GgufTestWriter().string("general.architecture", "llama")
                .tensor("blk.0.attn_q.weight", new float[4], GgufTestWriter.F32).bytes());
        assertBad(model, "general.architecture is 'llama'");
        Path other = Files.write(tmp.resolve("other.gguf"), new GgufTestWriter().string("general.architecture", "controlvector")
                .tensor("bias.3", new float[4], GgufTestWriter.F32).bytes());
        assertBad(other, "'bias.3'", "direction.N");
        Path twice = Files.write(tmp.resolve("twice.gguf"), new GgufTestWriter().string("general.architecture", "controlvector")
                .tensor("direction.3", new float[4], GgufTestWriter.F32).tensor("direction.3", new float[4], GgufTestWriter.F32).bytes());
        assertBad(twice, "'direction.3' appears twice");
        Path v1 = Files.write(tmp.resolve("v1.gguf"), new GgufTestWriter().version(1).string("general.architecture", "controlvector").bytes());
        assertBad(v1, "version 1");
        Path nan = Files.write(tmp.resolve("nan.gguf"), new GgufTestWriter().string("general.architecture", "controlvector")
                .tensor("direction.1", new float[] {1f, Float.NaN}, GgufTestWriter.F32).bytes());
        assertBad(nan, "element 1 is NaN");
    }

    private static void assertBad(Path f, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), e.getMessage());
    }
}
