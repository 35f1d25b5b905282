package dev.steer.models.vectors;

import dev.steer.engine.steering.SteeringVector;

import dev.steer.engine.BadInputException;
import dev.steer.models.Fixtures;
import dev.steer.models.hf.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorFileTest {
    @TempDir
    Path tmp;

    /** json and gguf vectors are written for others to read too: the umask's mode, not createTempFile's 0600. */
    @Test
    void jsonAndGgufVectorsTakeTheUmasksMode() throws IOException {
        Path reference = Files.createFile(tmp.resolve("reference"));
        Path json = tmp.resolve("v.json"), gguf = tmp.resolve("v.gguf");
        VectorFile.write(json, new float[] {1f, 2f}, Map.of());
        VectorFile.writeGguf(gguf, new java.util.TreeMap<>(Map.of(1, new float[] {1f, 2f})), "gemma2", Map.of());
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(json));
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(gguf));
    }

    @Test
    void writeReadRoundTrip() {
        Path file = tmp.resolve("optimism_L12.safetensors");
        float[] v = {0.5f, -1.25f, 3e-7f, 2f};
        Map<String, String> meta = Map.of("model", "gemma-2-2b", "layer", "12", "method", "mean_diff",
                "trait", "optimism", "vector_norm", "2.4");
        VectorFile.write(file, v, meta);
        SteeringVector d = VectorFile.read(file, null);
        assertArrayEquals(v, d.values());
        assertEquals(meta, d.provenance().metadata());
        assertEquals(file.toString(), d.source());
        assertEquals(Math.sqrt(0.25 + 1.5625 + 9e-14 + 4), d.norm(), 1e-12);
        assertArrayEquals(v, VectorFile.read(file, "vector").values());
    }

    @Test
    void jsonArrayAndObject() throws IOException {
        Path flat = Files.writeString(tmp.resolve("v.json"), "[1, -2.5, 0.125]");
        assertArrayEquals(new float[] {1f, -2.5f, 0.125f}, VectorFile.read(flat, null).values());
        assertTrue(VectorFile.read(flat, null).provenance().metadata().isEmpty());
        Path row = Files.writeString(tmp.resolve("row.JSON"), "[[1, 2]]");
        assertArrayEquals(new float[] {1f, 2f}, VectorFile.read(row, null).values());
        Path object = Files.writeString(tmp.resolve("o.json"),
                "{\"vector\": [3, 4], \"probe\": [5], \"metadata\": {\"layer\": 7, \"trait\": \"sycophancy\"}}");
        SteeringVector d = VectorFile.read(object, null);
        assertArrayEquals(new float[] {3f, 4f}, d.values());
        assertEquals(Map.of("layer", "7", "trait", "sycophancy"), d.provenance().metadata());
        assertArrayEquals(new float[] {5f}, VectorFile.read(object, "probe").values());
    }

    @Test
    void safetensorsPicksTheKeyedTensorAndAcceptsARow() {
        Path file = tmp.resolve("multi.safetensors");
        SafetensorsWriter.write(file, Map.of("mean_diff", new float[] {1f, 2f}, "probe", new float[] {3f, 4f, 5f}),
                Map.of("mean_diff", new long[] {1, 2}, "probe", new long[] {3}), null);
        assertArrayEquals(new float[] {1f, 2f}, VectorFile.read(file, "mean_diff").values());
        assertArrayEquals(new float[] {3f, 4f, 5f}, VectorFile.read(file, "probe").values());
    }

    @Test
    void severalTensorsAndNoKey() {
        Path file = tmp.resolve("multi.safetensors");
        SafetensorsWriter.write(file, Map.of("mean_diff", new float[] {1f}, "probe", new float[] {3f}),
                Map.of("mean_diff", new long[] {1}, "probe", new long[] {1}), null);
        assertBad(file, null, "several tensors", "mean_diff", "probe");
    }

    @Test
    void keyMissing() throws IOException {
        Path file = tmp.resolve("v.safetensors");
        VectorFile.write(file, new float[] {1f}, null);
        assertBad(file, "probe", "no tensor named 'probe'", "vector");
        Path json = Files.writeString(tmp.resolve("v.json"), "{\"vector\": [1]}");
        assertBad(json, "probe", "no field 'probe'");
        Path flat = Files.writeString(tmp.resolve("flat.json"), "[1]");
        assertBad(flat, "probe", "key 'probe'");
    }

    @Test
    void matrixIsNotAVector() {
        Path file = tmp.resolve("m.safetensors");
        SafetensorsWriter.write(file, Map.of("w", new float[4]), Map.of("w", new long[] {2, 2}), null);
        assertBad(file, null, "'w'", "[2, 2]");
    }

    @Test
    void nanAndInfinityAreRejectedWithTheirIndex() throws IOException {
        Path json = Files.writeString(tmp.resolve("nan.json"), "[0.5, 1.0, NaN]");
        assertBad(json, null, "element 2 is NaN");
        Path file = tmp.resolve("inf.safetensors");
        SafetensorsWriter.write(file, Map.of("vector", new float[] {1f, Float.NEGATIVE_INFINITY}),
                Map.of("vector", new long[] {2}), null);
        assertBad(file, null, "element 1 is -Infinity");
        Path text = Files.writeString(tmp.resolve("s.json"), "[1, \"two\"]");
        assertBad(text, null, "element 1 is not a number");
        Path empty = Files.writeString(tmp.resolve("e.json"), "[]");
        assertBad(empty, null, "empty");
    }

    @Test
    void badFiles() throws IOException {
        assertBad(tmp.resolve("absent.json"), null, "does not exist");
        Path bin = Files.writeString(tmp.resolve("v.bin"), "x");
        assertBad(bin, null, "unknown vector file type", ".gguf", ".pt", ".npy");
        Path npy = Files.writeString(tmp.resolve("v.npy"), "x");
        assertBad(npy, null, "not a .npy file");
        Path broken = Files.writeString(tmp.resolve("b.json"), "[1, 2");
        assertBad(broken, null, "not valid JSON");
        Path fake = Fixtures.rawSafetensors(tmp.resolve("f.safetensors"), "nonsense", new byte[0]);
        assertBad(fake, null, "not valid JSON");
    }

    private static void assertBad(Path file, String key, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.read(file, key));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), e.getMessage());
    }
}
