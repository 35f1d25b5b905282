package dev.steer.cli;

import dev.steer.engine.judge.ScriptedChatServer;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two real {@code steer sweep} processes (child JVMs) started together on one fresh {@code --db}, with overlapping
 * coefficients: both finish with exit 0, every config is stored once (the loser of a race reuses the winner's run),
 * and the shared judge cache holds each answer's score once. Before one opener and insert-or-reuse, the second
 * exited 1 with "UNIQUE constraint failed: runs.config_key" (or models.fingerprint).
 */
class ConcurrentSweepTest {
    @TempDir
    Path tmp;

    @Test
    void twoSweepsOnOneFreshDatabaseBothSucceedAndStoreEachConfigOnce() throws Exception {
        Path vectors = tmp.resolve("vectors");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1",
                "--method", "mean_diff", "--out", vectors.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
        Path db = tmp.resolve("shared.db");
        try (ScriptedChatServer judge = new ScriptedChatServer(ScriptedChatServer.score(70))) {
            Process a = start(judge, vectors, db, "0.5,1,1.5,2", "a.log");
            Process b = start(judge, vectors, db, "1,1.5,2,2.5", "b.log");
            assertTrue(a.waitFor(240, TimeUnit.SECONDS) && b.waitFor(240, TimeUnit.SECONDS), "both sweeps finished");
            assertEquals(0, a.exitValue(), Files.readString(tmp.resolve("a.log")));
            assertEquals(0, b.exitValue(), Files.readString(tmp.resolve("b.log")));
        }
        try (RunStore s = RunStore.open(db)) {
            assertEquals("ok", s.integrityCheck());
            List<RunRecord> runs = s.runs();
            Set<String> keys = new HashSet<>();
            for (RunRecord r : runs) {
                assertTrue(keys.add(r.configKey()), "config stored twice: " + r);
                assertEquals(2, s.responses(r.id()).size());
                assertEquals(70.0, r.traitMean(), 1e-9);
            }
            assertEquals(1, runs.stream().filter(r -> r.kind() == RunKind.BASELINE).count());
            Set<Double> coefs = new TreeSet<>();
            runs.stream().filter(r -> r.kind() == RunKind.SWEEP).forEach(r -> coefs.add(r.coef()));
            assertEquals(Set.of(0.5, 1.0, 1.5, 2.0, 2.5), coefs);
            assertEquals(6, runs.size(), "baseline + 5 distinct coefs");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM models), (SELECT count(*) FROM vectors)")) {
            assertEquals(1, rs.getInt(1), "one model row");
            assertEquals(1, rs.getInt(2), "one vector row");
        }
        // Judge cache: one row per distinct judged prompt, none duplicated (the key is the primary key), all scored.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve(EvalSession.JUDGE_CACHE_FILE));
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT key), min(score), max(score) FROM judge_cache WHERE judge LIKE 'openai:%'")) {
            assertTrue(rs.getInt(1) > 0);
            assertEquals(rs.getInt(1), rs.getInt(2));
            assertEquals(70.0, rs.getDouble(3), 1e-9);
            assertEquals(70.0, rs.getDouble(4), 1e-9);
        }
    }

    private Process start(ScriptedChatServer judge, Path vectors, Path db, String coefs, String log) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer",
                "sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--vectors", vectors.toString(),
                "--layers", "1", "--method", "mean_diff", "--coefs", coefs, "--judge", "openai:fixed",
                "--judge-base-url", judge.baseUrl(), "--coherence-judge", "perplexity", "--questions", "2",
                "--max-new-tokens", "4", "--batch-size", "2", "--db", db.toString(), "--format", "json"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(log).toFile()).start();
    }
}
