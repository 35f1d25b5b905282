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
    static final int VERSION = 1;

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
          live_ratio REAL,
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
                c.setAutoCommit(false);
                try {
                    if (tableCount(st) == 0) {
                        for (String ddl : DDL) st.execute(ddl);
                        st.execute("INSERT INTO schema_version(version) VALUES (" + VERSION + ")");
                    }
                    c.commit();
                } catch (SQLException e) {
                    c.rollback();
                    throw e;
                } finally {
                    c.setAutoCommit(true);
                }
            }
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
            }
        }
    }

    private static int tableCount(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }
}
