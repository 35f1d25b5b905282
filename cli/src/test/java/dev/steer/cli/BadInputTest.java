package dev.steer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every bad input of the runtime: exit 2, exactly one line on stderr naming the culprit, no stack trace. */
class BadInputTest {
    @TempDir
    Path tmp;

    static void assertBad(CliRun r, String... mustContain) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line only: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
        for (String s : mustContain) assertTrue(err.contains(s), "'" + s + "' named in: " + err);
        assertTrue(r.out().isEmpty(), "nothing on stdout: " + r.out());
    }

    static CliRun generate(Path model, String... extra) {
        String[] base = {"generate", "--model", model.toString(), "--prompt", "Hello there", "--max-new-tokens", "2"};
        String[] all = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return CliRun.of(all);
    }

    /** A copy of the tiny checkpoint whose weights pass through {@code edit} (name -> values, name -> shape). */
    Path modelWith(Consumer<Map<String, Object[]>> edit) throws Exception {
        return InputBoundsTest.modelWithWeights(tmp.resolve("model"), edit);
    }

    @Test
    void missingModelDirectory() {
        assertBad(generate(tmp.resolve("nope")), "nope", "does not exist");
    }

    @Test
    void directoryWithoutConfig() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        assertBad(generate(dir), "config.json");
    }

    @Test
    void directoryWithoutWeights() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("noweights"));
        Files.copy(CliRun.TINY.resolve("config.json"), dir.resolve("config.json"));
        assertBad(generate(dir), "noweights", "safetensors");
    }

    @Test
    void unsupportedModelType() throws Exception {
        Path dir = modelWith(t -> { });
        String cfg = Files.readString(dir.resolve("config.json")).replace("\"gemma2\"", "\"llama\"");
        Files.writeString(dir.resolve("config.json"), cfg);
        assertBad(generate(dir), "llama", "gemma2");
    }

    @Test
    void truncatedSafetensorsNamesTheFile() throws Exception {
        Path dir = modelWith(t -> { });
        Path st = dir.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        Files.write(st, Arrays.copyOf(b, b.length / 2));
        assertBad(generate(dir), "model.safetensors");
    }

    @Test
    void corruptHeaderNamesTheFile() throws Exception {
        Path dir = modelWith(t -> { });
        Path st = dir.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(st);
        for (int i = 8; i < 40; i++) b[i] = '#';
        Files.write(st, b);
        assertBad(generate(dir), "model.safetensors");
    }

    @Test
    void missingTensor() throws Exception {
        Path dir = modelWith(t -> t.remove("model.layers.2.mlp.up_proj.weight"));
        assertBad(generate(dir), "model.layers.2.mlp.up_proj.weight");
    }

    @Test
    void tensorOfTheWrongShape() throws Exception {
        Path dir = modelWith(t -> t.put("model.layers.0.self_attn.k_proj.weight", new Object[] {new float[47 * 64], new long[] {47, 64}}));
        assertBad(generate(dir), "model.layers.0.self_attn.k_proj.weight", "47");
    }

    @Test
    void steeringLayerOutOfRange() throws Exception {
        Path v = tmp.resolve("v.json");
        Files.writeString(v, Arrays.toString(new float[64]));
        assertBad(generate(CliRun.TINY, "--steer", "4:1.0:" + v), "layer 4", "0-3");
    }

    @Test
    void vectorOfTheWrongLength() throws Exception {
        Path v = tmp.resolve("short.json");
        Files.writeString(v, Arrays.toString(new float[63]));
        assertBad(generate(CliRun.TINY, "--steer", "1:1.0:" + v), "short.json", "63", "64");
    }

    @Test
    void vectorWithNaN() throws Exception {
        Path v = tmp.resolve("nan.json");
        float[] x = new float[64];
        x[5] = Float.NaN;
        Files.writeString(v, Arrays.toString(x));
        assertBad(generate(CliRun.TINY, "--steer", "1:1.0:" + v), "nan.json");
    }

    @Test
    void coefficientNotANumber() throws Exception {
        Path v = tmp.resolve("v.json");
        Files.writeString(v, Arrays.toString(new float[64]));
        assertBad(generate(CliRun.TINY, "--steer", "1:abc:" + v), "--steer", "abc");
    }

    @Test
    void emptyPrompt() {
        assertBad(CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", ""), "--prompt", "empty");
    }

    @Test
    void unknownFlag() {
        assertBad(CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "x", "--bogus"), "--bogus");
    }

    @Test
    void unknownBackend() {
        assertBad(generate(CliRun.TINY, "--backend", "tpu"), "--backend", "tpu");
    }

    @Test
    void badPositions() {
        assertBad(generate(CliRun.TINY, "--positions", "middle"), "--positions", "middle");
    }

    @Test
    void nothingWrittenOnStdoutWhenJsonRunFails() {
        assertBad(CliRun.of("norms", "--model", tmp.resolve("x").toString(), "--prompt", "a", "--format", "json"), "does not exist");
    }
}
