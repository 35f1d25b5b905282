package dev.steer.engine.store;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults of the runs database as a user meets them: stale (unscored) runs, values edited by hand, a full disk, a file
 * the user may only read.
 */
class StoreFaultsTest {
    @TempDir
    Path tmp;

    @Test
    void aRunWithScoresMissingIsNotFinalAndASaveReplacesIt() {
        try (RunStore store = RunStore.open(tmp.resolve("runs.db"))) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            // One answer without a trait score (idx 0 of StoredRuns.responses): stored, but a rerun must judge again.
            RunRecord partial = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.responses(3, 10));
            assertFalse(store.isFinal(partial));
            RunRecord unscored = new RunRecord(0, partial.configKey(), m.id(), v.id(), "refusal", 2, "mean_diff", 1.0, "all",
                    "tj", "cj", 32, 1, 0.0, 0, null, null, 40.0, null, 2.5, 10.0, null, null, RunKind.SWEEP, null,
                    partial.createdAt(), RunStatus.UNSCORED);
            assertFalse(store.isFinal(store.saveRun(unscored, List.of())));

            RunRecord full = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.scoredResponses(3));
            assertTrue(store.isFinal(full));
            assertEquals(List.of(full), store.runs(), "one run per config: the final one replaced the others");
            assertEquals(StoredRuns.scoredResponses(3), store.responses(full.id()));
            // And once final it stays: a later save (a racing process) gets it back and writes nothing.
            assertEquals(full, store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.responses(3, 10)));
            assertEquals(StoredRuns.scoredResponses(3), store.responses(full.id()));
        }
    }

    @Test
    void aMalformedCreatedAtIsBadInputNamingFileRunAndValue() throws Exception {
        Path db = tmp.resolve("edited.db");
        long id;
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            id = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.scoredResponses(3)).id();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            st.execute("UPDATE runs SET created_at = 'last tuesday'");
        }
        try (RunStore store = RunStore.openForReading(db)) {
            BadInputException e = assertThrows(BadInputException.class, store::runs);
            assertEquals(db + ": run " + id + ": created_at 'last tuesday' is not an ISO-8601 UTC instant such as 2026-01-31T12:00:00Z",
                    e.getMessage());
        }
    }

    @Test
    void aFullDiskSaysSoAndKeepsWhatWasCommitted() throws Exception {
        Path db = tmp.resolve("full.db");
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            RunRecord kept = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.scoredResponses(3));
            long pages;
            try (Statement st = store.connection().createStatement(); var rs = st.executeQuery("PRAGMA page_count")) {
                pages = rs.getLong(1);
            }
            try (Statement st = store.connection().createStatement()) {
                st.execute("PRAGMA max_page_count = " + pages);   // the file may not grow: as a full disk
            }
            // A run whose answers need many more pages than the file has.
            List<ResponseRecord> big = new ArrayList<>();
            for (int i = 0; i < 40; i++) big.add(new ResponseRecord(i, "q" + i, "x".repeat(20_000), 50.0, 60.0));
            BadInputException e = assertThrows(BadInputException.class,
                    () -> store.saveRun(StoredRuns.sweep(m.id(), v.id(), 2.0, 40), big));
            assertTrue(e.getMessage().startsWith(db + ": saving run "), e.getMessage());
            assertTrue(e.getMessage().contains("the disk or the database is full"), e.getMessage());
            assertFalse(e.getMessage().contains("no transaction is active"), e.getMessage());
            assertEquals(List.of(kept), store.runs());
            assertEquals(StoredRuns.scoredResponses(3), store.responses(kept.id()));
        }
        try (RunStore store = RunStore.open(db)) {
            assertEquals("ok", store.integrityCheck());
            assertEquals(1, store.runs().size());
        }
    }

    @Test
    void aReadOnlyDatabaseReadsWithoutWriting() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("ro"));
        Path db = dir.resolve("runs.db");
        RunRecord saved;
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            saved = store.saveRun(StoredRuns.sweep(m.id(), v.id(), 1.0, 3), StoredRuns.scoredResponses(3));
        }
        byte[] before = Files.readAllBytes(db);
        Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("r--r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            // As root (CI) the permissions do not bind, so the read-only path is taken directly as well.
            try (RunStore store = RunStore.openReadOnly(db)) {
                assertEquals(List.of(saved), store.runs());
                assertEquals(StoredRuns.scoredResponses(3), store.responses(saved.id()));
            }
            try (RunStore store = RunStore.openForReading(db)) {
                assertEquals(List.of(saved), store.runs());
            }
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        assertArrayEquals(before, Files.readAllBytes(db));
        assertEquals(List.of("runs.db"), Arrays.stream(dir.toFile().list()).sorted().toList(), "no -wal or -shm left behind");
    }
}
