package dev.steer.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.ResponseRecord;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStatus;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code steer export}: --out and --answers, a repeatable --trait, the model named, bad input before any write. */
class ExportCommandTest {
    @TempDir
    Path tmp;
    Path db;

    @BeforeEach
    void store() {
        db = tmp.resolve("runs.db");
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(new ModelRecord(0, "/models/gemma-2-2b", "Gemma2ForCausalLM", 26, 2304, "fp-2b"));
            Instant t = Instant.parse("2025-01-01T00:00:00Z");
            int id = 0;
            for (String trait : List.of("optimism", "refusal", "sycophancy")) {
                id++;
                store.saveRun(new RunRecord(0, "base-" + trait, m.id(), null, trait, null, null, 0, "all", "tj", "cj", 48, 1,
                        0, 2, 40.0, 90.0, null, null, null, null, null, null, RunKind.BASELINE, null, t, RunStatus.COMPLETE),
                        List.of(new ResponseRecord(0, trait + " q0", trait + " a0", 40.0, 90.0),
                                new ResponseRecord(1, trait + " q1", trait + " a1", 40.0 + id, null)));
            }
        }
    }

    static List<JsonObject> lines(Path p) throws Exception {
        return Files.readAllLines(p).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    @Test
    void answersOfTheChosenTraitsWithTheirRunsAndModel() throws Exception {
        Path runs = tmp.resolve("runs.jsonl"), answers = tmp.resolve("answers.jsonl");
        CliRun r = CliRun.of("export", "--db", db.toString(), "--trait", "sycophancy", "--trait", "optimism",
                "--out", runs.toString(), "--answers", answers.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("2 runs written to " + runs + "\n4 answers of 2 runs written to " + answers, r.out().strip());
        List<JsonObject> rs = lines(runs);
        assertEquals(List.of("optimism", "sycophancy"), rs.stream().map(o -> o.get("trait").getAsString()).toList(), "in stored order");
        assertEquals("/models/gemma-2-2b", rs.get(0).get("model").getAsString());
        List<JsonObject> as = lines(answers);
        assertEquals(List.of("optimism a0", "optimism a1", "sycophancy a0", "sycophancy a1"),
                as.stream().map(o -> o.get("answer").getAsString()).toList());
        assertEquals("sycophancy q1", as.get(3).get("question").getAsString());
        assertEquals(43.0, as.get(3).get("trait_score").getAsDouble(), 0.0);
        assertTrue(as.get(3).get("coherence_score").isJsonNull());
        assertEquals("base-sycophancy", as.get(3).get("config_key").getAsString());
        assertEquals("fp-2b", as.get(3).get("model_fingerprint").getAsString());
    }

    @Test
    void answersAloneAndAllTraitsByDefault() throws Exception {
        Path answers = tmp.resolve("answers.csv");
        CliRun r = CliRun.of("export", "--db", db.toString(), "--answers", answers.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(1 + 6, Files.readAllLines(answers).size(), "header + 3 runs x 2 answers");
    }

    @Test
    void badInputWritesNothing() throws Exception {
        Path runs = tmp.resolve("runs.jsonl");
        CliRun neither = CliRun.of("export", "--db", db.toString());
        assertEquals(Steer.BAD_INPUT, neither.code());
        assertEquals("steer: export: give --out FILE (runs), --answers FILE (answers), or both", neither.err().strip());
        CliRun badExt = CliRun.of("export", "--db", db.toString(), "--out", runs.toString(), "--answers", tmp.resolve("a.txt").toString());
        assertEquals(Steer.BAD_INPUT, badExt.code());
        assertEquals("steer: --answers " + tmp.resolve("a.txt") + ": unknown format; name the file .jsonl or .csv", badExt.err().strip());
        assertFalse(Files.exists(runs), "the runs file is not written when --answers is bad");
        CliRun same = CliRun.of("export", "--db", db.toString(), "--out", runs.toString(), "--answers", runs.toString());
        assertEquals(Steer.BAD_INPUT, same.code());
        assertEquals("", same.out() + badExt.out() + neither.out());
    }

    @Test
    void aTraitWithNoRunsIsNamedAndNothingIsReplaced() throws Exception {
        Path runs = tmp.resolve("kept.jsonl");
        Files.writeString(runs, "an earlier export\n");
        CliRun typo = CliRun.of("export", "--db", db.toString(), "--trait", "optimism", "--trait", "optimsm", "--out", runs.toString());
        assertEquals(Steer.BAD_INPUT, typo.code());
        assertEquals("steer: --trait optimsm: no runs of that trait in " + db + " (its traits: optimism, refusal, sycophancy)",
                typo.err().strip());
        assertEquals("", typo.out());
        assertEquals("an earlier export\n", Files.readString(runs), "the file a typo would have emptied is kept");
        CliRun ok = CliRun.of("export", "--db", db.toString(), "--trait", "optimism", "--out", runs.toString());
        assertEquals(0, ok.code(), ok.err());
        assertEquals("1 runs written to " + runs, ok.out().strip());
    }

    @Test
    void reportAndExportShareTheDbDefault() {
        for (String command : List.of("report", "export")) {
            CliRun help = CliRun.of(command, "--help");
            // The --db entry of the help, its wrapped lines joined: up to the next option.
            String help1 = help.out().replaceAll("\\s+", " ");
            String entry = help1.substring(help1.indexOf(" --db=FILE "), help1.indexOf(" -", help1.indexOf(" --db=FILE ") + 3));
            assertTrue(entry.endsWith("Default: " + RunStore.DEFAULT_FILE + "."), command + ": " + entry);
        }
    }
}
