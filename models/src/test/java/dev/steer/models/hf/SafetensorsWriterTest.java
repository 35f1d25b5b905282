package dev.steer.models.hf;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {
    @TempDir
    Path tmp;

    private static final Map<String, float[]> TENSORS = Map.of(
            "b.weight", new float[] {1f, -2f, 3.5f, 1e-30f, Float.MAX_VALUE, -0f},
            "a.bias", new float[] {0.25f},
            "c", new float[0]);
    private static final Map<String, long[]> SHAPES = Map.of(
            "b.weight", new long[] {2, 3}, "a.bias", new long[] {1}, "c", new long[] {0, 5});

    @Test
    void writtenFileTakesTheUmasksModeNot0600() throws IOException {
        Path file = tmp.resolve("v.safetensors");
        SafetensorsWriter.write(file, TENSORS, SHAPES, null);
        SafetensorsWriter.write(file, TENSORS, SHAPES, null); // the replacing write too
        Path reference = Files.createFile(tmp.resolve("reference"));
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(file));
    }

    @Test
    void roundTrips() {
        Path file = tmp.resolve("t.safetensors");
        SafetensorsWriter.write(file, TENSORS, SHAPES, Map.of("trait", "optimism", "layer", "12"));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("trait", "optimism", "layer", "12"), f.metadata());
            assertEquals(List.of("a.bias", "b.weight", "c"), List.copyOf(f.names()));
            for (String name : TENSORS.keySet()) {
                assertEquals("F32", f.tensor(name).dtype());
                assertArrayEquals(SHAPES.get(name), f.tensor(name).shape());
                assertArrayEquals(TENSORS.get(name), f.tensor(name).toFloatArray(), name);
            }
        }
    }

    /** What Python's safetensors demands: '{' first, contiguous offsets from 0 that end exactly at end of file. */
    @Test
    void layoutIsWhatPythonSafetensorsAccepts() throws IOException {
        Path file = tmp.resolve("t.safetensors");
        SafetensorsWriter.write(file, TENSORS, SHAPES, null);
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLength % 8);
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"), header);
        JsonObject json = JsonParser.parseString(header).getAsJsonObject();
        assertFalse(json.has("__metadata__"));
        assertEquals("[0,4]", json.getAsJsonObject("a.bias").get("data_offsets").toString());
        assertEquals("[4,28]", json.getAsJsonObject("b.weight").get("data_offsets").toString());
        assertEquals("[28,28]", json.getAsJsonObject("c").get("data_offsets").toString());
        assertEquals(8 + headerLength + 28, bytes.length);
        assertEquals(0.25f, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat(8 + (int) headerLength));
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaries() throws IOException {
        Path file = tmp.resolve("v.safetensors");
        Files.writeString(file, "old");
        SafetensorsWriter.write(file, Map.of("x", new float[] {9f}), Map.of("x", new long[] {1}), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {9f}, f.tensor("x").toFloatArray());
        }
        assertEquals(List.of(file), list(tmp));
    }

    @Test
    void failedWriteLeavesNothingBehind() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("busy.safetensors"));
        Files.writeString(target.resolve("inside"), "keeps the directory non-empty, so the final rename fails");
        assertThrows(IOException.class, () -> {
            try {
                SafetensorsWriter.write(target, Map.of("x", new float[] {1f}), Map.of("x", new long[] {1}), null);
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause();
            }
        });
        assertEquals(List.of(target), list(tmp));
    }

    @Test
    void shapeMismatchWritesNothing() {
        Path file = tmp.resolve("bad.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file,
                Map.of("x", new float[] {1f, 2f}), Map.of("x", new long[] {3}), null));
        assertTrue(e.getMessage().contains("x") && e.getMessage().contains("[3]"), e.getMessage());
        assertFalse(Files.exists(file));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file,
                Map.of("x", new float[] {1f}), Map.of(), null));
    }

    @Test
    void missingDirectoryIsNamed() {
        Path file = tmp.resolve("no/such/dir/v.safetensors");
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsWriter.write(file,
                Map.of("x", new float[] {1f}), Map.of("x", new long[] {1}), null));
        assertTrue(e.getMessage().contains(tmp.resolve("no/such/dir").toString()), e.getMessage());
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
