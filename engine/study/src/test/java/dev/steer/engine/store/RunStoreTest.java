package dev.steer.engine.store;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunStoreTest {
    @TempDir
    Path tmp;

    @Test
    void runAndResponsesRoundTrip() {
        Path db = tmp.resolve("runs.db");
        RunRecord saved;
        List<ResponseRecord> responses = StoredRuns.responses(7, 40);
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            saved = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.5, 7), responses);
            assertTrue(saved.id() > 0);
        }
        try (RunStore store = RunStore.open(db)) {
            assertEquals(List.of(saved), store.runs());
            assertEquals(responses, store.responses(saved.id()));
            RunRecord r = store.runs().get(0);
            assertEquals(0.375, r.steeredRatio(), 0.0);
            assertEquals(0.375, r.ratio(), 0.0);
            assertEquals(null, store.responses(saved.id()).get(0).traitScore(), "NULL score stays unscored");
            assertEquals("ok", store.integrityCheck());
        }
    }

    @Test
    void baselineRunKeepsNullsAndNegativeCoefRatioIsAbsolute() {
        try (RunStore store = RunStore.open(tmp.resolve("b.db"))) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            RunRecord base = new RunRecord(0, "base-key", m.id(), null, "refusal", null, null, 0.0, "all", "tj", "cj",
                    32, 1, 0.0, 1, 40.0, 90.0, null, null, null, null, null, null, RunKind.BASELINE, null,
                    Instant.parse("2025-01-01T00:00:00Z"), RunStatus.COMPLETE);
            RunRecord stored = store.saveRun(base, StoredRuns.responses(1, 10));
            assertEquals(List.of(stored), store.runs(RunFilter.ALL.withKind(RunKind.BASELINE)));
            assertEquals(null, stored.ratio());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            RunRecord neg = store.saveRun(StoredRuns.sweep(m.id(), v.id(), -2.0, 1), StoredRuns.responses(1, 10));
            assertEquals(-0.5, neg.steeredRatio(), 0.0);
            assertEquals(0.5, neg.ratio(), 0.0);
        }
    }

    @Test
    void modelsAndVectorsAreStoredOnce() {
        try (RunStore store = RunStore.open(tmp.resolve("mv.db"))) {
            ModelRecord a = store.saveModel(StoredRuns.model());
            ModelRecord b = store.saveModel(StoredRuns.model());
            assertEquals(a, b);
            VectorRecord v1 = store.saveVector(StoredRuns.vector(a.id(), 2));
            VectorRecord v2 = store.saveVector(StoredRuns.vector(a.id(), 2));
            VectorRecord v3 = store.saveVector(StoredRuns.vector(a.id(), 3));
            assertEquals(v1, v2);
            assertTrue(v3.id() != v1.id());
        }
    }

    @Test
    void resumeFindsTheRunByConfigKeyAndASecondSaveReusesIt() {
        Path db = tmp.resolve("resume.db");
        RunRecord first;
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            first = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.scoredResponses(3));
        }
        // A resumed sweep rebuilds the same config and asks before generating.
        String key = new RunConfig("fp-tiny", "sha-v2", "refusal", 2, 1.0, "all", "tj", "cj", "qh", 32, 1, 0.0, false, "th", "cpu:default").key();
        String other = new RunConfig("fp-tiny", "sha-v2", "refusal", 2, 1.25, "all", "tj", "cj", "qh", 32, 1, 0.0, false, "th", "cpu:default").key();
        try (RunStore store = RunStore.open(db)) {
            assertEquals(first, store.findByConfigKey(key).orElseThrow());
            assertTrue(store.findByConfigKey(other).isEmpty());
            // Saving the same config again (another process got there first) reuses the stored run and writes nothing.
            RunRecord again = store.saveRun(StoredRuns.sweep(first.modelId(), first.vectorId(), 1.0, 3), StoredRuns.responses(3, 99));
            assertEquals(first, again);
            assertEquals(1, store.runs().size());
            assertEquals(3, countResponses(db));
        }
    }

    @Test
    void failureMidTransactionLeavesNoHalfRunAndEarlierRunsIntact() throws Exception {
        Path db = tmp.resolve("fail.db");
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            RunRecord good = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 5), StoredRuns.responses(5, 20));

            // Response 3 of 6 repeats idx 2: the run row and two responses are already inserted when it fails.
            List<ResponseRecord> clash = new ArrayList<>(StoredRuns.responses(6, 20));
            clash.set(3, new ResponseRecord(2, "q", "a", null, null));
            assertThrows(StoreException.class, () -> store.saveRun(StoredRuns.sweep(m.id(), v.id(), 2.0, 6), clash));

            // The last response has no answer (NOT NULL).
            List<ResponseRecord> missing = new ArrayList<>(StoredRuns.responses(4, 20));
            missing.set(3, new ResponseRecord(3, "q", null, null, null));
            assertThrows(StoreException.class, () -> store.saveRun(StoredRuns.sweep(m.id(), v.id(), 3.0, 4), missing));

            // The run points at a vector that does not exist (foreign key): fails before any response.
            assertThrows(StoreException.class,
                    () -> store.saveRun(StoredRuns.sweep(m.id(), 999, 4.0, 2), StoredRuns.responses(2, 20)));

            IllegalArgumentException nMismatch = assertThrows(IllegalArgumentException.class,
                    () -> store.saveRun(StoredRuns.sweep(m.id(), v.id(), 5.0, 3), StoredRuns.responses(2, 20)));
            assertTrue(nMismatch.getMessage().contains("n=3"), nMismatch.getMessage());

            assertEquals(List.of(good), store.runs());
            assertEquals(5, countResponses(db));
            assertEquals("ok", store.integrityCheck());
            // The connection is still usable after the rollbacks, and the failed config can be retried.
            RunRecord retry = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 2.0, 6), StoredRuns.responses(6, 20));
            assertEquals(6, store.responses(retry.id()).size());
            assertEquals(2, store.runs().size());
        }
    }

    @Test
    void runsFilterByTraitAndKind() {
        try (RunStore store = RunStore.open(tmp.resolve("f.db"))) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            RunRecord a = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 1), StoredRuns.responses(1, 5));
            RunRecord s = StoredRuns.sweep(m.id(), v.id(), 2.0, 1);
            RunRecord b = store.saveRun(new RunRecord(0, "search-0", s.modelId(), s.vectorId(), "optimism", 2,
                    "probe", 2.0, "all", "tj", "cj", 32, 1, 0.0, 1, 1.0, 2.0, 3.0, -2.0, 2.5, 10.0, 10.0, 0.5,
                    RunKind.SEARCH, 0, s.createdAt(), RunStatus.UNSCORED), StoredRuns.responses(1, 5));
            assertEquals(List.of(a), store.runs(RunFilter.ALL.withTrait("refusal")));
            assertEquals(List.of(b), store.runs(RunFilter.ALL.withKind(RunKind.SEARCH)));
            assertEquals(List.of(b), store.runs(RunFilter.ALL.withTrait("optimism").withKind(RunKind.SEARCH)));
            assertEquals(List.of(), store.runs(RunFilter.ALL.withTrait("optimism").withKind(RunKind.SWEEP)));
            assertEquals(0, store.runs().get(1).searchStep());
        }
    }

    @Test
    void twoStoresOnOneFileSeeEachOthersRuns() throws Exception {
        // Both open a new file at once: one creates the tables, the other must find them, not fail. Switching the
        // new file to WAL once failed at once with SQLITE_BUSY in about one try of six (no busy handler for that
        // lock), so the race is run on 100 new files, both threads let go at once; the last pair then writes and
        // reads each other's runs.
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 100; i++) {
                Path db = tmp.resolve("race-" + i + ".db");
                var start = new java.util.concurrent.CyclicBarrier(2);
                java.util.concurrent.Callable<RunStore> open = () -> {
                    start.await();
                    return RunStore.open(db);
                };
                var fa = pool.submit(open);
                var fb = pool.submit(open);
                try (RunStore a = fa.get(); RunStore b = fb.get()) {
                    assertEquals(List.of(), a.runs());
                    assertEquals(List.of(), b.runs());
                    if (i < 99) continue;
                    ModelRecord m = a.saveModel(StoredRuns.model());
                    VectorRecord v = b.saveVector(StoredRuns.vector(b.saveModel(StoredRuns.model()).id(), 2));
                    RunRecord r1 = a.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 2), StoredRuns.responses(2, 10));
                    RunRecord r2 = b.saveRun(StoredRuns.sweep(m.id(), v.id(), 2.0, 2), StoredRuns.responses(2, 10));
                    assertEquals(List.of(r1, r2), a.runs());
                    assertEquals(r1, b.findByConfigKey(r1.configKey()).orElseThrow());
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void databaseIsInWalModeWithAVersionRow() throws Exception {
        Path db = tmp.resolve("wal.db");
        RunStore.open(db).close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
                rs.next();
                assertEquals("wal", rs.getString(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
                rs.next();
                assertEquals(StoreSchema.VERSION, rs.getInt(1));
            }
        }
    }

    @Test
    void badFilesAreRejectedNamingTheFile() throws Exception {
        Path garbage = tmp.resolve("garbage.db");
        Files.writeString(garbage, "this is not a database ".repeat(50), StandardCharsets.UTF_8);
        assertBadInput(garbage, "garbage.db", "cannot open as a runs database");

        Path dir = Files.createDirectory(tmp.resolve("adir.db"));
        assertBadInput(dir, "adir.db", "is a directory");

        assertBadInput(tmp.resolve("nowhere/runs.db"), "nowhere", "does not exist");

        Path foreign = tmp.resolve("foreign.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + foreign); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE notes(x TEXT)");
        }
        assertBadInput(foreign, "foreign.db", "not a steer runs database");

        Path newer = tmp.resolve("newer.db");
        RunStore.open(newer).close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + newer); Statement st = c.createStatement()) {
            st.execute("UPDATE schema_version SET version = 99");
        }
        assertBadInput(newer, "newer.db", "schema version 99");
    }

    private static void assertBadInput(Path file, String named, String says) {
        BadInputException e = assertThrows(BadInputException.class, () -> RunStore.open(file).close());
        assertTrue(e.getMessage().contains(named) && e.getMessage().contains(says), e.getMessage());
    }

    static int countResponses(Path db) {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM responses")) {
            rs.next();
            return rs.getInt(1);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
