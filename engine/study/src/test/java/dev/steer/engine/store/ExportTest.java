package dev.steer.engine.store;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportTest {
    @TempDir
    Path tmp;

    private static RunRecord awkward() {
        // A trait name with a comma and quotes, and a missing coherence mean, to exercise quoting and nulls.
        return new RunRecord(4, "k4", 1, 2L, "says \"no\", politely", 12, "mean_diff", -3.0, "all", "tj", "cj", 64,
                7, 0.0, 10, 55.5, null, 40.0, 15.5, 2.0, 12.0, 12.0, 0.5, RunKind.SEARCH, 3,
                Instant.parse("2025-05-06T07:08:09Z"), RunStatus.COMPLETE);
    }

    @Test
    void csvHasHeaderAndQuotesCells() throws Exception {
        Path out = tmp.resolve("runs.csv");
        Export.csv(List.of(awkward()), out);
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(String.join(",", Export.FIELDS) + "\r\n"
                + "4,k4,search,complete,\"says \"\"no\"\", politely\",12,mean_diff,-3.0,2.0,12.0,0.5,12.0,0.5,0.5,,55.5,40.0,"
                + "15.5,10,all,tj,cj,64,7,0.0,3,,,,,2025-05-06T07:08:09Z\r\n", text);
    }

    @Test
    void jsonlHasImportFieldNamesRatioAndNulls() throws Exception {
        Path out = tmp.resolve("runs.jsonl");
        Export.jsonl(List.of(awkward(), awkward().withId(5)), out);
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        JsonObject o = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(Export.FIELDS, List.copyOf(o.keySet()));
        assertEquals("says \"no\", politely", o.get("trait").getAsString());
        assertEquals(0.5, o.get("ratio").getAsDouble(), 0.0, "|−3|·2/12");
        assertEquals(0.5, o.get("live_ratio").getAsDouble(), 0.0, "unsigned: the sign lives in coef");
        assertEquals(0.5, o.get("steered_ratio").getAsDouble(), 0.0);
        assertTrue(o.get("coherence_mean").isJsonNull());
        assertEquals(5, JsonParser.parseString(lines.get(1)).getAsJsonObject().get("id").getAsInt());
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws Exception {
        Path out = tmp.resolve("runs.jsonl");
        Files.writeString(out, "old content\n");
        Export.jsonl(List.of(awkward()), out);
        assertTrue(Files.readString(out).startsWith("{\"id\":4,"));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList());
        }
    }

    @Test
    void missingDirectoryIsBadInputNamingIt() {
        Path out = tmp.resolve("no/such/dir/runs.csv");
        BadInputException e = assertThrows(BadInputException.class, () -> Export.csv(List.of(awkward()), out));
        assertTrue(e.getMessage().contains("no/such/dir") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    /** A database with a baseline and a steered run, three answers between them (an unscored one, awkward text). */
    private Path storedDb(List<List<ResponseRecord>> answers) {
        Path db = tmp.resolve("runs.db");
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(new ModelRecord(0, "/models/gemma-2-2b", "Gemma2ForCausalLM", 26, 2304, "fp-2b"));
            VectorRecord v = store.saveVector(new VectorRecord(0, m.id(), "optimism", 12, "mean_diff", "last", 18.5,
                    "vectors/optimism/mean_diff_layer12.safetensors", "sha-12"));
            Instant t = Instant.parse("2025-01-01T00:00:00Z");
            store.saveRun(new RunRecord(0, "base", m.id(), null, "optimism", null, null, 0, "all", "tj", "cj", 48, 1,
                    0, answers.get(0).size(), 40.0, 92.0, null, null, null, null, null, null, RunKind.BASELINE, null, t, RunStatus.COMPLETE),
                    answers.get(0));
            store.saveRun(new RunRecord(0, "k1", m.id(), v.id(), "optimism", 12, "mean_diff", 6.0, "response",
                    "tj", "cj", 48, 1, 0, answers.get(1).size(), 70.0, 60.0, 40.0, 30.0, 18.5, 74.0,
                    74.0, 1.5, RunKind.SWEEP, null, t, RunStatus.COMPLETE), answers.get(1));
        }
        return db;
    }

    @Test
    void runsNameTheirModelAndVectorNotTheirIds() throws Exception {
        Path db = storedDb(List.of(List.of(new ResponseRecord(0, "q", "a", 40.0, 92.0)), List.of(new ResponseRecord(0, "q", "b", 70.0, 60.0))));
        Path out = tmp.resolve("runs.jsonl");
        try (RunStore store = RunStore.open(db)) {
            Export.runs(Export.Format.JSONL, store.runs(), Export.Names.of(store), out);
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        JsonObject base = JsonParser.parseString(lines.get(0)).getAsJsonObject(), run = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertEquals(Export.FIELDS, List.copyOf(run.keySet()));
        assertTrue(!run.has("model_id") && !run.has("vector_id"), run.toString());
        assertEquals("/models/gemma-2-2b", run.get("model").getAsString());
        assertEquals("fp-2b", run.get("model_fingerprint").getAsString());
        assertEquals("vectors/optimism/mean_diff_layer12.safetensors", run.get("vector_file").getAsString());
        assertEquals("sha-12", run.get("vector_sha256").getAsString());
        assertEquals("/models/gemma-2-2b", base.get("model").getAsString());
        assertTrue(base.get("vector_file").isJsonNull() && base.get("vector_sha256").isJsonNull(), "a baseline has no vector");
    }

    @Test
    void answersCarryTheirRunsConfigAndScores() throws Exception {
        List<ResponseRecord> baseAnswers = List.of(new ResponseRecord(0, "Is the glass half full?", "Yes, \"half\".\nOr empty", 40.0, 92.0));
        List<ResponseRecord> steered = List.of(new ResponseRecord(0, "Is the glass half full?", "Always!", 90.0, 55.0),
                new ResponseRecord(1, "Tomorrow?", "Bright, sunny", null, 61.5));
        Path db = storedDb(List.of(baseAnswers, steered));
        Path jsonl = tmp.resolve("answers.jsonl"), csv = tmp.resolve("answers.csv");
        long n;
        try (RunStore store = RunStore.open(db)) {
            n = Export.answers(Export.Format.JSONL, store.runs(), Export.Names.of(store), store::responses, jsonl);
            Export.answers(Export.Format.CSV, store.runs(), Export.Names.of(store), store::responses, csv);
        }
        assertEquals(3, n);
        List<String> lines = Files.readAllLines(jsonl, StandardCharsets.UTF_8);
        assertEquals(3, lines.size());
        JsonObject a0 = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(Export.ANSWER_FIELDS, List.copyOf(a0.keySet()));
        assertEquals("base", a0.get("config_key").getAsString());
        assertEquals("baseline", a0.get("kind").getAsString());
        assertEquals("Yes, \"half\".\nOr empty", a0.get("answer").getAsString());
        assertEquals(92.0, a0.get("coherence_score").getAsDouble(), 0.0);
        JsonObject a2 = JsonParser.parseString(lines.get(2)).getAsJsonObject();
        assertEquals("k1", a2.get("config_key").getAsString());
        assertEquals(2, a2.get("run_id").getAsLong());
        assertEquals(1, a2.get("idx").getAsInt());
        assertEquals("Tomorrow?", a2.get("question").getAsString());
        assertEquals("Bright, sunny", a2.get("answer").getAsString());
        assertTrue(a2.get("trait_score").isJsonNull(), "unscored stays null, not 0");
        assertEquals(61.5, a2.get("coherence_score").getAsDouble(), 0.0);
        assertEquals(12, a2.get("layer").getAsInt());
        assertEquals(6.0, a2.get("coef").getAsDouble(), 0.0);
        assertEquals(1.5, a2.get("ratio").getAsDouble(), 0.0);
        assertEquals("response", a2.get("positions").getAsString());
        assertEquals(48, a2.get("max_new_tokens").getAsInt());
        assertEquals("/models/gemma-2-2b", a2.get("model").getAsString());
        assertEquals("sha-12", a2.get("vector_sha256").getAsString());
        String text = Files.readString(csv, StandardCharsets.UTF_8);
        assertTrue(text.startsWith(String.join(",", Export.ANSWER_FIELDS) + "\r\n"), text);
        assertTrue(text.contains(",0,Is the glass half full?,\"Yes, \"\"half\"\".\nOr empty\",40.0,92.0\r\n"), text);
        assertTrue(text.endsWith(",1,Tomorrow?,\"Bright, sunny\",,61.5\r\n"), text);
    }

    @Test
    void formatComesFromTheExtensionOrIsBadInput() {
        assertEquals(Export.Format.JSONL, Export.Format.of(Path.of("a/B.JSONL"), "--out"));
        assertEquals(Export.Format.CSV, Export.Format.of(Path.of("b.csv"), "--out"));
        BadInputException e = assertThrows(BadInputException.class, () -> Export.Format.of(Path.of("answers.txt"), "--answers"));
        assertEquals("--answers answers.txt: unknown format; name the file .jsonl or .csv", e.getMessage());
    }
}
