package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import dev.steer.engine.store.Export;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.ResponseRecord;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStatus;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.store.VectorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImportJsonlTest {
    @TempDir
    Path tmp;

    private static final String GOOD = "{\"trait\":\"refusal\",\"layer\":12,\"method\":\"probe\",\"coef\":-4.0,"
            + "\"vector_norm\":3.0,\"activation_norm\":20.0,\"coherence_mean\":71.5,\"trait_mean\":30.0,"
            + "\"baseline_trait_mean\":45.5,\"extra\":\"ignored\"}";

    @Test
    void readsRunsComputingRatioAndDelta() throws Exception {
        Path f = tmp.resolve("runs.jsonl");
        Files.writeString(f, GOOD + "\n\n{\"kind\":\"baseline\",\"trait\":\"refusal\",\"layer\":null}\n"
                + GOOD.replace("\"layer\":12", "\"layer\":3") + "\n");
        List<RunPoint> ps = ImportJsonl.read(f);
        assertEquals(2, ps.size());
        RunPoint p = ps.get(0);
        assertEquals(new RunPoint("refusal", 12, "probe", -4.0, 3.0, 20.0, 0.6, 71.5, 30.0, 45.5, -15.5), p);
        assertEquals(3, ps.get(1).layer());
    }

    @Test
    void badLinesNameFileLineAndField() throws Exception {
        assertBad(GOOD.replace("\"coef\":-4.0,", ""), "field 'coef' is missing");
        assertBad(GOOD.replace("\"coef\":-4.0", "\"coef\":\"big\""), "field 'coef' must be a number");
        assertBad(GOOD.replace("\"coef\":-4.0", "\"coef\":null"), "field 'coef' is missing");
        assertBad(GOOD.replace("\"activation_norm\":20.0", "\"activation_norm\":0"), "field 'activation_norm' must be > 0");
        assertBad(GOOD.replace("\"layer\":12", "\"layer\":1.5"), "field 'layer' must be a non-negative integer");
        assertBad(GOOD.replace("\"trait\":\"refusal\"", "\"trait\":7"), "field 'trait' must be a non-empty string");
        assertBad(GOOD.replace("\"method\":\"probe\"", "\"method\":[1]"), "field 'method' must be a string or number");
        assertBad("{\"trait\":", "not valid JSON");
        assertBad("[1,2]", "expected a JSON object");
    }

    @Test
    void scoresOutsideZeroToHundredNameTheLineAndTheBound() throws Exception {
        assertBad(GOOD.replace("\"coherence_mean\":71.5", "\"coherence_mean\":171.5"), "field 'coherence_mean' must be a score in 0..100, got 171.5");
        assertBad(GOOD.replace("\"trait_mean\":30.0", "\"trait_mean\":-0.5"), "field 'trait_mean' must be a score in 0..100, got -0.5");
        assertBad(GOOD.replace("\"baseline_trait_mean\":45.5", "\"baseline_trait_mean\":1e3"), "field 'baseline_trait_mean' must be a score in 0..100");
        Path edges = tmp.resolve("edges.jsonl");
        Files.writeString(edges, GOOD.replace("\"coherence_mean\":71.5", "\"coherence_mean\":100").replace("\"trait_mean\":30.0", "\"trait_mean\":0") + "\n");
        assertEquals(100.0, ImportJsonl.read(edges).get(0).coherence());
    }

    /** The bad line is line 3, after a good line and a blank one. */
    private void assertBad(String badLine, String says) throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, GOOD + "\n\n" + badLine + "\n");
        BadInputException e = assertThrows(BadInputException.class, () -> ImportJsonl.read(f));
        assertTrue(e.getMessage().startsWith(f + ":3: ") && e.getMessage().contains(says), e.getMessage());
    }

    @Test
    void missingFileIsBadInput() {
        Path f = tmp.resolve("absent.jsonl");
        BadInputException e = assertThrows(BadInputException.class, () -> ImportJsonl.read(f));
        assertTrue(e.getMessage().contains("absent.jsonl"), e.getMessage());
    }

    @Test
    void exportThenImportGivesTheStoredPoints() {
        Path db = tmp.resolve("runs.db");
        Path out = tmp.resolve("export.jsonl");
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(new ModelRecord(0, "/m", "Gemma2ForCausalLM", 26, 2304, "fp"));
            VectorRecord v = store.saveVector(new VectorRecord(0, m.id(), "refusal", 12, "mean_diff", "response",
                    18.5, null, "sha"));
            Instant t = Instant.parse("2025-01-01T00:00:00Z");
            store.saveRun(new RunRecord(0, "base", m.id(), null, "refusal", null, null, 0, "all", "tj", "cj", 64, 1,
                    0, 1, 40.0, 92.0, null, null, null, null, null, null, RunKind.BASELINE, null, t, RunStatus.COMPLETE),
                    List.of(new ResponseRecord(0, "q", "a", 40.0, 92.0)));
            for (int i = 1; i <= 3; i++)
                store.saveRun(new RunRecord(0, "k" + i, m.id(), v.id(), "refusal", 12, "mean_diff", -2.0 * i, "all",
                        "tj", "cj", 64, 1, 0, 1, 40.0 + 7 * i, 90.0 - 11 * i, 40.0, 7.0 * i, 18.5, 60.0 + i,
                        60.0 + i, 2.0 * i * 18.5 / (60 + i), RunKind.SWEEP, null, t, RunStatus.COMPLETE),
                        List.of(new ResponseRecord(0, "q", "a", 40.0 + 7 * i, 90.0 - 11 * i)));
            Export.jsonl(store.runs(), out);
            List<RunPoint> fromStore = RunPoint.fromRuns(store.runs());
            assertEquals(3, fromStore.size(), "the baseline has no place in the law");
            assertEquals(fromStore, ImportJsonl.read(out));
            assertEquals(2.0 * 3 * 18.5 / 63, fromStore.get(2).ratio(), 1e-15);
        }
    }
}
