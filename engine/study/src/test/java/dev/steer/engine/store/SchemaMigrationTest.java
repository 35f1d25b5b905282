package dev.steer.engine.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A schema-1 runs database (activation_norm then meant the steered-positions norm, live_ratio its signed ratio) is
 * migrated when opened: the steered quantities move to steered_norm_mean and |live_ratio| to steered_ratio, the
 * law's activation_norm is left empty (schema 1 never measured it), so reports see no ratio for those runs; every
 * other field and every response stays.
 */
class SchemaMigrationTest {
    /** The tables steer 0.1 wrote (schema 1), as its StoreSchema created them. */
    static final String[] SCHEMA_1 = {
        "CREATE TABLE schema_version(version INTEGER NOT NULL)",
        "CREATE TABLE models(id INTEGER PRIMARY KEY, path TEXT NOT NULL, architecture TEXT NOT NULL, layers INTEGER NOT NULL,"
                + " hidden INTEGER NOT NULL, fingerprint TEXT NOT NULL UNIQUE)",
        "CREATE TABLE vectors(id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL REFERENCES models(id), trait TEXT NOT NULL,"
                + " layer INTEGER NOT NULL, method TEXT NOT NULL, position TEXT NOT NULL, vector_norm REAL NOT NULL, file TEXT,"
                + " sha256 TEXT NOT NULL, UNIQUE(model_id, trait, layer, method, position, sha256))",
        "CREATE TABLE runs(id INTEGER PRIMARY KEY, config_key TEXT NOT NULL UNIQUE, model_id INTEGER NOT NULL REFERENCES models(id),"
                + " vector_id INTEGER REFERENCES vectors(id), trait TEXT NOT NULL, layer INTEGER, method TEXT, coef REAL NOT NULL,"
                + " positions TEXT NOT NULL, judge TEXT NOT NULL, coherence_judge TEXT NOT NULL, max_new_tokens INTEGER NOT NULL,"
                + " seed INTEGER NOT NULL, temperature REAL NOT NULL, n INTEGER NOT NULL, trait_mean REAL, coherence_mean REAL,"
                + " baseline_trait_mean REAL, delta REAL, vector_norm REAL, activation_norm REAL, live_ratio REAL,"
                + " kind TEXT NOT NULL CHECK(kind IN ('baseline', 'sweep', 'search')), search_step INTEGER, created_at TEXT NOT NULL,"
                + " status TEXT NOT NULL CHECK(status IN ('complete', 'unscored')))",
        "CREATE INDEX runs_by_trait ON runs(trait, kind)",
        "CREATE TABLE responses(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,"
                + " question TEXT NOT NULL, answer TEXT NOT NULL, trait_score REAL, coherence_score REAL, PRIMARY KEY(run_id, idx))",
        "INSERT INTO schema_version(version) VALUES (1)",
        "INSERT INTO models VALUES (1, 'm', 'gemma2', 4, 8, 'fp')",
        "INSERT INTO vectors VALUES (1, 1, 'refusal', 2, 'mean_diff', 'last', 2.5, 'v.safetensors', 'sha')",
        "INSERT INTO runs VALUES (1, 'k-base', 1, NULL, 'refusal', NULL, NULL, 0, 'none', 'tj', 'cj', 16, 0, 0, 1, 40, 90,"
                + " NULL, NULL, NULL, NULL, NULL, 'baseline', NULL, '2025-01-01T00:00:00Z', 'complete')",
        "INSERT INTO runs VALUES (2, 'k-neg', 1, 1, 'refusal', 2, 'mean_diff', -4, 'all', 'tj', 'cj', 16, 0, 0, 1, 55, 71,"
                + " 40, 15, 2.5, 12.5, -0.8, 'sweep', NULL, '2025-01-01T00:00:01Z', 'complete')",
        "INSERT INTO responses VALUES (2, 0, 'q', 'a', 55, 71)",
    };

    @TempDir
    Path tmp;

    /** A migrated run reused by a sweep gets its law norm measured again (RunLog's question norm), so reports see it. */
    @Test
    void aReusedMigratedRunGetsItsActivationNormBack() throws Exception {
        Path db = tmp.resolve("old2.db");
        dev.steer.engine.steering.SteeringVector v = new dev.steer.engine.steering.SteeringVector(new float[] {3, 4}, "v");
        dev.steer.engine.sweep.Candidate c = new dev.steer.engine.sweep.Candidate(2, v, -4.0);
        ModelRecord model = new ModelRecord(1, "m", "gemma2", 4, 8, "fp");
        dev.steer.engine.sweep.RunContext ctx = new dev.steer.engine.sweep.RunContext(model, "refusal", List.of("q"),
                dev.steer.engine.steering.Positions.ALL, "tj", "cj", dev.steer.engine.generation.GenerationOptions.greedy(16),
                new dev.steer.engine.sweep.RunContext.Setup(false, "cpu:default", "th", "tj", "cj"));
        String key = ctx.config(c, v.sha256()).key();
        try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = conn.createStatement()) {
            for (String sql : SCHEMA_1) st.execute(sql.replace("'k-neg'", "'" + key + "'"));
        }
        try (RunStore store = RunStore.open(db)) {
            dev.steer.engine.sweep.RunLog plain = new dev.steer.engine.sweep.RunLog(store, ctx, java.util.Map.of(2, v));
            assertNull(plain.find(c).orElseThrow().activationNorm(), "no model at hand: left as is");
            int[] measured = {0};
            dev.steer.engine.sweep.RunLog log = new dev.steer.engine.sweep.RunLog(store, ctx, java.util.Map.of(2, v), layer -> {
                measured[0]++;
                assertEquals(2, layer);
                return 20.0;
            });
            RunRecord r = log.find(c).orElseThrow();
            assertEquals(20.0, r.activationNorm(), 0);
            assertEquals(4.0 * 2.5 / 20.0, r.ratio(), 1e-12, "|coef| x ||v|| / activation_norm, ||v|| as stored");
            assertEquals(1, measured[0]);
            assertEquals(20.0, store.findByConfigKey(key).orElseThrow().activationNorm(), 0, "stored");
            log.find(c);
            assertEquals(1, measured[0], "measured once");
        }
    }

    @Test
    void schemaOneIsMigratedKeepingEverythingButTheLawNormItNeverHad() throws Exception {
        Path db = tmp.resolve("old.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
            for (String sql : SCHEMA_1) st.execute(sql);
        }
        try (RunStore store = RunStore.open(db)) {
            List<RunRecord> runs = store.runs();
            assertEquals(2, runs.size());
            RunRecord neg = runs.get(1);
            assertEquals(-4.0, neg.coef(), 0);
            assertEquals(12.5, neg.steeredNormMean(), 0, "the old activation_norm was the steered-positions norm");
            assertEquals(0.8, neg.steeredRatio(), 1e-12, "unsigned now");
            assertNull(neg.activationNorm(), "schema 1 never measured the law's norm");
            assertNull(neg.ratio());
            assertEquals(55.0, neg.traitMean(), 0);
            assertEquals(List.of(new ResponseRecord(0, "q", "a", 55.0, 71.0)), store.responses(neg.id()));
            assertEquals("ok", store.integrityCheck());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT max(version) FROM schema_version")) {
            rs.next();
            assertEquals(2, rs.getInt(1));
        }
        try (RunStore again = RunStore.open(db)) {
            assertEquals(2, again.runs().size(), "a second open finds schema 2 and changes nothing");
            assertEquals(0.8, again.runs().get(1).steeredRatio(), 1e-12);
        }
    }
}
