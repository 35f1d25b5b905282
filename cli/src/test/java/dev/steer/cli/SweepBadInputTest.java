package dev.steer.cli;

import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.steer.cli.BadInputTest.assertBad;

/** sweep / search / report / export bad inputs: exit 2, one line naming the culprit. */
class SweepBadInputTest {
    @TempDir
    Path tmp;
    Path vectors;

    @BeforeEach
    void vectors() throws Exception {
        vectors = Files.createDirectories(tmp.resolve("vecs"));
        float[] v = new float[64];
        v[0] = 1;
        VectorFile.write(vectors.resolve("mean_diff_layer1.safetensors"), v, Map.of());
        VectorFile.write(vectors.resolve("probe_layer1.safetensors"), new float[8], Map.of());
    }

    CliRun sweep(String... overrides) {
        List<String> a = new ArrayList<>(List.of("sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism",
                "--vectors", vectors.toString(), "--layers", "1", "--coefs", "1,2", "--judge", "openai:m",
                "--judge-base-url", "http://127.0.0.1:9/v1", "--db", tmp.resolve("r.db").toString()));
        for (int i = 0; i < overrides.length; i += 2) {
            int at = a.indexOf(overrides[i]);
            if (at >= 0) a.set(at + 1, overrides[i + 1]);
            else a.addAll(Arrays.asList(overrides[i], overrides[i + 1]));
        }
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void unknownTrait() {
        assertBad(sweep("--trait", "grumpiness"), "grumpiness");
    }

    @Test
    void vectorsDirectoryMissingTheLayersFile() {
        assertBad(sweep("--layers", "1,3"), "mean_diff_layer3.safetensors", "layer 3");
        assertBad(sweep("--vectors", tmp.resolve("nope").toString()), "--vectors", "nope");
    }

    @Test
    void vectorOfTheWrongSize() {
        assertBad(sweep("--method", "probe"), "probe_layer1.safetensors", "8 elements");
    }

    @Test
    void layerOutsideTheModel() {
        VectorFile.write(vectors.resolve("mean_diff_layer7.safetensors"), new float[64], Map.of());
        assertBad(sweep("--layers", "7"), "--layers", "7");
    }

    @Test
    void badCoefAndRatioLists() {
        assertBad(sweep("--coefs", "1,x"), "--coefs", "'x'");
        assertBad(sweep("--coefs", "1,,2"), "--coefs", "empty entry");
        assertBad(sweep("--coefs", "NaN"), "--coefs", "not finite");
        List<String> a = new ArrayList<>(List.of("sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism",
                "--vectors", vectors.toString(), "--layers", "1", "--ratios", "0.5,-1", "--judge", "openai:m",
                "--judge-base-url", "http://127.0.0.1:9/v1"));
        assertBad(CliRun.of(a.toArray(String[]::new)), "--ratios", "-1");
        assertBad(sweep("--layers", "1,b"), "--layers", "'b'");
    }

    @Test
    void judgeSpecErrors() {
        assertBad(sweep("--judge", "gpt4"), "--judge", "gpt4");
        assertBad(sweep("--judge", "openai:"), "--judge", "model name");
        assertBad(sweep("--judge", "perplexity"), "--judge perplexity", "coherence only");
        assertBad(sweep("--coherence-judge", "onnx:"), "--coherence-judge", "directory");
        assertBad(sweep("--judge", "onnx:" + tmp.resolve("no-classifier")), "model.onnx");
    }

    @Test
    void otherSweepFlags() {
        assertBad(sweep("--questions", "0"), "--questions 0");
        assertBad(sweep("--batch-size", "0"), "--batch-size");
        assertBad(sweep("--positions", "middle"), "--positions", "middle");
        assertBad(sweep("--method", "../x"), "--method");
    }

    @Test
    void searchFlags() {
        String[] base = {"search", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--vectors", vectors.toString(),
                "--layers", "1", "--judge", "openai:m", "--judge-base-url", "http://127.0.0.1:9/v1"};
        assertBad(CliRun.of(concat(base, "--direction", "sideways")), "--direction", "sideways");
        assertBad(CliRun.of(concat(base, "--momentum", "1.5")), "--momentum");
        assertBad(CliRun.of(concat(base, "--steps", "0")), "--steps");
        assertBad(CliRun.of(concat(base, "--coherence-threshold", "120")), "--coherence-threshold");
    }

    @Test
    void reportAndExport() throws Exception {
        assertBad(CliRun.of("report", "--db", tmp.resolve("absent.db").toString()), "absent.db");
        assertBad(CliRun.of("report", "--import", tmp.resolve("absent.jsonl").toString()), "absent.jsonl");
        assertBad(CliRun.of("export", "--db", tmp.resolve("absent.db").toString(), "--out", tmp.resolve("o.jsonl").toString()), "absent.db");
        assertBad(CliRun.of("export", "--out", tmp.resolve("o.txt").toString()), "o.txt", ".jsonl or .csv");
        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "\n");
        assertBad(CliRun.of("report", "--import", empty.toString()), "no steered runs");
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
