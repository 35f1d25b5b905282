package dev.steer.engine.store;

import dev.steer.engine.BadInputException;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The tables of a runs database and the check that a file holds them. */
final class StoreSchema {
    /** Version written by this code; a database with a higher one was made by a newer steer. */
    static final int VERSION = 2;

    private static final String[] DDL = {
        "CREATE TABLE schema_version(version INTEGER NOT NULL)",
        """
        CREATE TABLE models(
          id INTEGER PRIMARY KEY,
          path TEXT NOT NULL,
          architecture TEXT NOT NULL,
          layers INTEGER NOT NULL,
          hidden INTEGER NOT NULL,
          fingerprint TEXT NOT NULL UNIQUE)""",
        """
        CREATE TABLE vectors(
          id INTEGER PRIMARY KEY,
          model_id INTEGER NOT NULL REFERENCES models(id),
          trait TEXT NOT NULL,
          layer INTEGER NOT NULL,
          method TEXT NOT NULL,
          position TEXT NOT NULL,
          vector_norm REAL NOT NULL,
          file TEXT,
          sha256 TEXT NOT NULL,
          UNIQUE(model_id, trait, layer, method, position, sha256))""",
        """
        CREATE TABLE runs(
          id INTEGER PRIMARY KEY,
          config_key TEXT NOT NULL UNIQUE,
          model_id INTEGER NOT NULL REFERENCES models(id),
          vector_id INTEGER REFERENCES vectors(id),
          trait TEXT NOT NULL,
          layer INTEGER,
          method TEXT,
          coef REAL NOT NULL,
          positions TEXT NOT NULL,
          judge TEXT NOT NULL,
          coherence_judge TEXT NOT NULL,
          max_new_tokens INTEGER NOT NULL,
          seed INTEGER NOT NULL,
          temperature REAL NOT NULL,
          n INTEGER NOT NULL,
          trait_mean REAL,
          coherence_mean REAL,
          baseline_trait_mean REAL,
          delta REAL,
          vector_norm REAL,
          activation_norm REAL,
          ratio REAL,
          steered_norm_mean REAL,
          steered_ratio REAL,
          kind TEXT NOT NULL CHECK(kind IN ('baseline', 'sweep', 'search')),
          search_step INTEGER,
          created_at TEXT NOT NULL,
          status TEXT NOT NULL CHECK(status IN ('complete', 'unscored')))""",
        "CREATE INDEX runs_by_trait ON runs(trait, kind)",
        """
        CREATE TABLE responses(
          run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          idx INTEGER NOT NULL,
          question TEXT NOT NULL,
          answer TEXT NOT NULL,
          trait_score REAL,
          coherence_score REAL,
          PRIMARY KEY(run_id, idx))""",
    };

    private StoreSchema() {
    }

    /** Creates the tables in an empty database, or checks that an existing one is a steer runs database. */
    static void ensure(Connection c, Path file) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (tableCount(st) == 0) {
                // The transaction begins IMMEDIATE (write lock), so of two processes creating the same new file
                // one creates and the other, after waiting, finds the tables made.
                inTransaction(c, tx -> {
                    if (tableCount(tx) > 0) return;
                    for (String ddl : DDL) tx.execute(ddl);
                    tx.execute("INSERT INTO schema_version(version) VALUES (" + VERSION + ")");
                });
            }
        }
        if (version(c, file) == 1) migrateFrom1(c);
    }

    /** Checks, without writing, that the database is a steer runs database this code can read as it is. */
    static void check(Connection c, Path file) throws SQLException {
        if (version(c, file) == 1)
            throw new BadInputException(file + ": runs database schema version 1 must be upgraded, which writes to it; "
                    + "the file is read-only here (make it writable once, or copy it)");
    }

    /** The schema version, checked to be one this code knows. */
    private static int version(Connection c, Path file) throws SQLException {
        try (Statement st = c.createStatement()) {
            boolean hasVersion;
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'")) {
                hasVersion = rs.next() && rs.getInt(1) > 0;
            }
            if (!hasVersion)
                throw new BadInputException(file + ": is a SQLite database but not a steer runs database (no schema_version table)");
            try (ResultSet rs = st.executeQuery("SELECT max(version) FROM schema_version")) {
                int version = rs.next() ? rs.getInt(1) : 0;
                if (version > VERSION)
                    throw new BadInputException(file + ": runs database schema version " + version
                            + " is newer than this steer supports (" + VERSION + "); upgrade steer");
                if (version < 1)
                    throw new BadInputException(file + ": runs database has no schema version row");
                return version;
            }
        }
    }

    /**
     * Schema 1 stored as {@code activation_norm} the norm over the steered positions (response included) and as
     * {@code live_ratio} its signed ratio. Schema 2 names those {@code steered_norm_mean} and {@code steered_ratio}
     * (unsigned) and gives {@code activation_norm} the law's meaning (prompt tokens, BOS excluded), which schema 1
     * did not store: migrated runs keep their steered quantities and get no activation norm, hence no ratio, so
     * reports leave them out until a sweep or search reuses them and fills it in ({@code RunLog}). One transaction, under
     * the write lock.
     */
    private static void migrateFrom1(Connection c) throws SQLException {
        inTransaction(c, st -> {
            try (ResultSet rs = st.executeQuery("SELECT max(version) FROM schema_version")) {
                if (rs.next() && rs.getInt(1) >= 2) return;   // another process migrated it meanwhile
            }
            st.execute("ALTER TABLE runs RENAME COLUMN live_ratio TO steered_ratio");
            st.execute("ALTER TABLE runs ADD COLUMN steered_norm_mean REAL");
            st.execute("ALTER TABLE runs ADD COLUMN ratio REAL");
            st.execute("UPDATE runs SET steered_norm_mean = activation_norm, steered_ratio = abs(steered_ratio), activation_norm = NULL");
            st.execute("UPDATE schema_version SET version = 2");
        });
    }

    /** Work done in one transaction (IMMEDIATE on this connection: the write lock is taken at its start). */
    @FunctionalInterface
    private interface Work {
        void run(Statement st) throws SQLException;
    }

    private static void inTransaction(Connection c, Work work) throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            work.run(st);
            c.commit();
        } catch (SQLException e) {
            SqliteFile.rollback(c, e);
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    private static int tableCount(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }
}
