package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import dev.steer.models.vectors.VectorFile;
import dev.steer.engine.judge.ScriptedChatServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sweep → search → report → export end to end on the tiny Gemma-2, with vectors written from the reference
 * fixture, a loopback trait judge and the perplexity coherence judge. Tiny answers (4 tokens), two questions.
 */
class SweepSearchCommandTest {
    @TempDir
    static Path tmp;
    static Path vectors;
    static ScriptedChatServer server;
    static final double SCORE = 70;
    static double[] vectorNorm = new double[4];

    @BeforeAll
    static void setUp() throws Exception {
        JsonObject ref = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        vectors = Files.createDirectories(tmp.resolve("vectors"));
        // Layer 1: the fixture's steering vector; layer 2: its mean_diff (prompt-mean) vector at layer 2.
        write(1, floats(ref.getAsJsonObject("steering").getAsJsonArray("vector")));
        write(2, floats(ref.getAsJsonObject("mean_diff").getAsJsonArray("prompt_mean").get(2).getAsJsonArray()));
        server = new ScriptedChatServer(ScriptedChatServer.score(SCORE));
    }

    @AfterAll
    static void tearDown() {
        server.close();
    }

    static void write(int layer, float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        vectorNorm[layer] = Math.sqrt(s);
        VectorFile.write(vectors.resolve("mean_diff_layer" + layer + ".safetensors"), v,
                Map.of("layer", Integer.toString(layer), "method", "mean_diff", "position", "prompt_mean"));
    }

    static float[] floats(JsonArray a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsFloat();
        return v;
    }

    static String[] args(String command, Path db, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--model", CliRun.TINY.toString(), "--trait", "optimism",
                "--vectors", vectors.toString(), "--judge", "openai:fixed", "--judge-base-url", server.baseUrl(),
                "--coherence-judge", "perplexity", "--questions", "2", "--max-new-tokens", "4", "--db", db.toString()));
        a.addAll(Arrays.asList(more));
        return a.toArray(String[]::new);
    }

    @Test
    void sweepStoresEveryRunAndAResumedSweepReusesThemAll() throws Exception {
        Path db = tmp.resolve("sweep.db");
        // Batch size 3 with 2 questions: rows of different layers and coefs share batches.
        CliRun first = CliRun.of(args("sweep", db, "--layers", "1,2", "--coefs", "2,-4", "--batch-size", "3", "--format", "json"));
        assertEquals(0, first.code(), first.err());
        JsonObject o = first.json();
        JsonArray runs = o.getAsJsonArray("runs");
        assertEquals(4, runs.size());
        for (JsonElement e : runs) {
            JsonObject r = e.getAsJsonObject();
            assertEquals(SCORE, r.get("trait_mean").getAsDouble(), 1e-9);
            assertEquals(0, r.get("delta").getAsDouble(), 1e-9, "constant trait judge: no delta");
            int layer = r.get("layer").getAsInt();
            assertEquals(vectorNorm[layer], r.get("vector_norm").getAsDouble(), 1e-4);
            double c = r.get("coherence_mean").getAsDouble();
            assertTrue(c >= 0 && c <= 100, "coherence " + c);
            assertEquals(Math.abs(r.get("coef").getAsDouble()) * vectorNorm[layer] / r.get("activation_norm").getAsDouble(),
                    r.get("ratio").getAsDouble(), 1e-9);
            assertEquals(Math.abs(r.get("coef").getAsDouble()) * vectorNorm[layer] / r.get("steered_norm_mean").getAsDouble(),
                    r.get("live_ratio").getAsDouble(), 1e-9);
            assertTrue(!r.get("reused").getAsBoolean());
        }
        int requests = server.requests.get();

        CliRun again = CliRun.of(args("sweep", db, "--layers", "1,2", "--coefs", "2,-4", "--batch-size", "3"));
        assertEquals(0, again.code(), again.err());
        assertEquals(4, again.out().split("reused", -1).length - 1 - 1, again.out()); // 4 runs + the baseline line
        assertEquals(requests, server.requests.get(), "nothing judged again");
        try (RunStore store = RunStore.open(db)) {
            assertEquals(5, store.runs().size(), "baseline + 4 runs, no duplicates");
            RunRecord baseline = store.runs().get(0);
            assertEquals(RunKind.BASELINE, baseline.kind());
            for (RunRecord r : store.runs()) assertEquals(2, store.responses(r.id()).size());
        }

        // The same runs one row per batch give the same answers: batching never changes a row.
        Path db1 = tmp.resolve("sweep-b1.db");
        CliRun single = CliRun.of(args("sweep", db1, "--layers", "1,2", "--coefs", "2,-4", "--batch-size", "1"));
        assertEquals(0, single.code(), single.err());
        try (RunStore a = RunStore.open(db); RunStore b = RunStore.open(db1)) {
            for (int i = 0; i < 5; i++) {
                RunRecord ra = a.runs().get(i), rb = b.runs().get(i);
                assertEquals(ra.configKey(), rb.configKey());
                assertEquals(a.responses(ra.id()), b.responses(rb.id()));
                if (i > 0) assertEquals(ra.activationNorm(), rb.activationNorm(), 1e-4);
            }
        }
    }

    @Test
    void ratiosConvertWithTheNormMeasuredOnTheQuestions() {
        CliRun r = CliRun.of(args("sweep", tmp.resolve("ratios.db"), "--layers", "1", "--ratios", "0.5,1", "--format", "json"));
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        double qn = o.getAsJsonObject("question_norms").get("1").getAsDouble();
        assertTrue(qn > 1 && qn < 100, "question norm " + qn);
        JsonArray runs = o.getAsJsonArray("runs");
        assertEquals(0.5 * qn / vectorNorm[1], runs.get(0).getAsJsonObject().get("coef").getAsDouble(), 1e-6);
        assertEquals(1.0 * qn / vectorNorm[1], runs.get(1).getAsJsonObject().get("coef").getAsDouble(), 1e-6);
        assertEquals(0.5, runs.get(0).getAsJsonObject().get("target_ratio").getAsDouble(), 0);
    }

    @Test
    void searchFollowsTheRuleThenReportAndExportReadItBack() throws Exception {
        Path db = tmp.resolve("search.db");
        CliRun r = CliRun.of(args("search", db, "--layers", "1,2", "--steps", "3", "--batch-size", "8", "--format", "json"));
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        for (JsonElement le : o.getAsJsonArray("layers")) {
            JsonObject layer = le.getAsJsonObject();
            int l = layer.get("layer").getAsInt();
            double qn = layer.get("question_norm").getAsDouble();
            JsonArray steps = layer.getAsJsonArray("steps");
            assertEquals(3, steps.size());
            assertEquals(0.7 * qn / vectorNorm[l], steps.get(0).getAsJsonObject().get("coef").getAsDouble(), 1e-6);
            assertEquals(0.7, steps.get(0).getAsJsonObject().get("ratio").getAsDouble(), 1e-6);
            for (int i = 0; i + 1 < steps.size(); i++) {
                JsonObject s = steps.get(i).getAsJsonObject();
                double factor = s.get("coherence_mean").getAsDouble() >= 70 ? 1.3 : 0.85;
                assertEquals(s.get("coherent").getAsBoolean(), factor == 1.3);
                assertEquals(s.get("coef").getAsDouble() * factor, steps.get(i + 1).getAsJsonObject().get("coef").getAsDouble(), 1e-9);
            }
        }
        try (RunStore store = RunStore.open(db)) {
            assertEquals(6, store.runs().stream().filter(x -> x.kind() == RunKind.SEARCH).count());
        }

        Path plots = tmp.resolve("plots");
        CliRun report = CliRun.of("report", "--db", db.toString(), "--plot", plots.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(report.out().contains("All traits: 6 runs"), report.out());
        assertTrue(report.out().contains("Avg Coherence"), report.out());
        for (String png : List.of("ratio_vs_coherence.png", "ratio_vs_delta.png", "coherence_by_bucket.png")) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(plots.resolve(png)), 4);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, png);
        }

        Path jsonl = tmp.resolve("runs.jsonl");
        CliRun export = CliRun.of("export", "--db", db.toString(), "--out", jsonl.toString());
        assertEquals(0, export.code(), export.err());
        assertEquals(7, Files.readAllLines(jsonl).size(), "baseline + 6 steps");
        CliRun fromDb = CliRun.of("report", "--db", db.toString(), "--format", "json");
        CliRun imported = CliRun.of("report", "--import", jsonl.toString(), "--format", "json");
        assertEquals(0, imported.code(), imported.err());
        assertEquals(fromDb.json(), imported.json(), "the exported runs report exactly as the database does");
        Path csv = tmp.resolve("runs.csv");
        assertEquals(0, CliRun.of("export", "--db", db.toString(), "--out", csv.toString()).code());
        assertEquals(8, Files.readAllLines(csv).size());
    }

    @Test
    void extractThenSearchWithTheOnnxJudgeThenReport() throws Exception {
        Path vecs = tmp.resolve("extracted");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "confidence", "--layers", "1-2",
                "--method", "mean_diff", "--out", vecs.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
        Path db = tmp.resolve("e2e.db");
        // onnx trait judge (the tiny classifier shares the model's tokenizer); coherence defaults to perplexity.
        CliRun search = CliRun.of("search", "--model", CliRun.TINY.toString(), "--trait", "confidence", "--vectors", vecs.toString(),
                "--layers", "1,2", "--judge", "onnx:../engine/study/src/test/resources/fixtures/tiny-trait-classifier",
                "--questions", "2", "--max-new-tokens", "4", "--steps", "2", "--db", db.toString());
        assertEquals(0, search.code(), search.err());
        assertTrue(search.out().contains("coherence judge perplexity:"), search.out());
        assertTrue(search.out().contains("layer 2") && search.out().contains("best coherent"), search.out());
        Path plots = tmp.resolve("e2e-plots");
        CliRun report = CliRun.of("report", "--db", db.toString(), "--trait", "confidence", "--plot", plots.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(report.out().contains("== confidence: 4 runs =="), report.out());
        assertTrue(report.out().contains("% Coherent"), report.out());
        assertTrue(Files.size(plots.resolve("ratio_vs_coherence.png")) > 1000);
        try (RunStore store = RunStore.open(db)) {
            for (RunRecord r : store.runs()) {
                assertTrue(r.traitMean() >= 0 && r.traitMean() <= 100, "onnx score " + r.traitMean());
                if (r.kind() == RunKind.SEARCH) assertEquals("mean_diff", r.method());
            }
        }
    }
}
