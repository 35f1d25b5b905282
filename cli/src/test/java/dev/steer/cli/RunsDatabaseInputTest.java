package dev.steer.cli;

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
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** A runs database edited by hand is the user's input: {@code report} and {@code export} say what is wrong, exit 2. */
class RunsDatabaseInputTest {
    @TempDir
    Path tmp;

    @Test
    void aMalformedCreatedAtIsOneLineNamingFileRunAndValue() throws Exception {
        Path db = tmp.resolve("runs.db");
        long id;
        try (RunStore s = RunStore.open(db)) {
            ModelRecord m = s.saveModel(new ModelRecord(0, "m", "gemma2", 4, 8, "fp"));
            VectorRecord v = s.saveVector(new VectorRecord(0, m.id(), "optimism", 1, "mean_diff", "prompt_mean", 2.0, "v", "sha"));
            Instant t = Instant.parse("2026-01-02T03:04:05Z");
            s.saveRun(new RunRecord(0, "base", m.id(), null, "optimism", null, null, 0, "none", "tj", "cj", 4, 1, 0, 1, 40.0,
                    90.0, null, null, null, null, null, null, RunKind.BASELINE, null, t, RunStatus.COMPLETE),
                    List.of(new ResponseRecord(0, "q", "a", 40.0, 90.0)));
            id = s.saveRun(new RunRecord(0, "k1", m.id(), v.id(), "optimism", 1, "mean_diff", 2, "all", "tj", "cj", 4, 1, 0, 1,
                    60.0, 80.0, 40.0, 20.0, 2.0, 8.0, 8.0, 0.5, RunKind.SWEEP, null, t, RunStatus.COMPLETE),
                    List.of(new ResponseRecord(0, "q", "a", 60.0, 80.0))).id();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            st.execute("UPDATE runs SET created_at = '2026-13-45 noon' WHERE id = " + id);
        }
        String line = "steer: " + db + ": run " + id + ": created_at '2026-13-45 noon' is not an ISO-8601 UTC instant such as "
                + "2026-01-31T12:00:00Z\n";
        CliRun report = CliRun.of("report", "--db", db.toString());
        assertEquals(2, report.code(), report.err());
        assertEquals(line, report.err());
        assertEquals("", report.out());

        Path target = tmp.resolve("runs.csv");
        CliRun export = CliRun.of("export", "--db", db.toString(), "--out", target.toString());
        assertEquals(2, export.code(), export.err());
        assertEquals(line, export.err());
        assertEquals("", export.out());
        assertFalse(Files.exists(target), "nothing written");
    }
}
