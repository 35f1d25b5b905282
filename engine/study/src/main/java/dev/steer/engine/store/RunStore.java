package dev.steer.engine.store;

import dev.steer.engine.BadInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The results database (SQLite, {@code steer-runs.db} by default): models, vectors, runs and their responses.
 *
 * <p>Crash safety: the database runs in WAL mode with {@code synchronous=FULL}, and a run is written together with
 * all its responses in one transaction ({@link #saveRun}). A process killed at any moment (kill -9) therefore
 * leaves every committed run whole and no part of the run it was writing; SQLite rolls the torn write back the next
 * time the file is opened. Foreign keys are enforced; writers from several processes wait on each other for up to
 * {@link SqliteFile#BUSY_TIMEOUT_MS} instead of failing ({@link SqliteFile}), and every save is insert-or-reuse in one write
 * transaction, so two sweeps on one file store each config once: the second reuses the first's run.
 *
 * <p>One connection, used from one thread at a time (methods are synchronized).
 */
public final class RunStore implements AutoCloseable {
    public static final String DEFAULT_FILE = "steer-runs.db";

    private final Path file;
    private final Connection conn;

    private RunStore(Path file, Connection conn) {
        this.file = file;
        this.conn = conn;
    }

    /**
     * Opens (creating if absent) a runs database for reading and writing.
     *
     * @throws BadInputException when the file is a directory, cannot be written, is not a SQLite database, is
     *                           corrupt, or is a SQLite database of something else; the message names the file
     */
    public static RunStore open(Path file) {
        Path abs = file.toAbsolutePath();
        if (Files.isDirectory(abs)) throw new BadInputException(file + ": is a directory, expected a runs database file");
        Path dir = abs.getParent();
        if (dir != null && !Files.isDirectory(dir))
            throw new BadInputException(file + ": directory " + dir + " does not exist");
        if (Files.exists(abs) && !(Files.isReadable(abs) && Files.isWritable(abs)))
            throw new BadInputException(file + ": runs database is not readable and writable");
        if (!Files.exists(abs) && dir != null && !Files.isWritable(dir))
            throw new BadInputException(file + ": cannot create the runs database, directory " + dir + " is not writable");
        Connection c = null;
        try {
            c = SqliteFile.openReadWrite(abs);
            StoreSchema.ensure(c, file);
            return new RunStore(file, c);
        } catch (SQLException e) {
            closeQuietly(c);
            throw new BadInputException(file + ": cannot open as a runs database (" + firstLine(e.getMessage()) + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /**
     * Opens an existing runs database for commands that only read it ({@code report}, {@code export}): read-write
     * when the file and its directory may be written (so a schema-1 file is upgraded as {@link #open} does), else
     * read-only, so a database the user may only read still reports.
     *
     * @throws BadInputException when the file is missing, unreadable, not a runs database, or a read-only file of
     *                           schema 1 (upgrading it needs a write)
     */
    public static RunStore openForReading(Path file) {
        Path abs = file.toAbsolutePath();
        if (!Files.exists(abs)) throw new BadInputException(file + ": no such runs database");
        if (Files.isDirectory(abs)) throw new BadInputException(file + ": is a directory, expected a runs database file");
        if (!Files.isReadable(abs)) throw new BadInputException(file + ": runs database is not readable");
        Path dir = abs.getParent();
        if (Files.isWritable(abs) && (dir == null || Files.isWritable(dir))) return open(file);
        return openReadOnly(file);
    }

    /** {@link #openForReading} on a connection that never writes (package-private: tests force this path as root). */
    static RunStore openReadOnly(Path file) {
        Connection c = null;
        try {
            c = SqliteFile.openReadOnly(file.toAbsolutePath());
            StoreSchema.check(c, file);
            return new RunStore(file, c);
        } catch (SQLException e) {
            closeQuietly(c);
            throw new BadInputException(file + ": cannot open as a runs database (" + firstLine(e.getMessage()) + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /** The connection, for tests in this package that need SQLite's own knobs (max_page_count: a full disk). */
    Connection connection() {
        return conn;
    }

    public Path file() {
        return file;
    }

    /**
     * Stores the model, or returns the stored one with the same fingerprint: insert-or-reuse in one transaction, so
     * of two processes storing the same model at once one inserts and the other reads the row it made.
     */
    public synchronized ModelRecord saveModel(ModelRecord m) {
        return inTransaction("saving model " + m.path(), () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO models(path, architecture, layers, hidden, fingerprint) VALUES (?, ?, ?, ?, ?) "
                            + "ON CONFLICT(fingerprint) DO NOTHING")) {
                ps.setString(1, m.path());
                ps.setString(2, m.architecture());
                ps.setInt(3, m.layers());
                ps.setInt(4, m.hidden());
                ps.setString(5, m.fingerprint());
                ps.executeUpdate();
            }
            return findModelRow(m.fingerprint()).orElseThrow(() -> new SQLException("model row vanished after insert"));
        });
    }

    public synchronized Optional<ModelRecord> findModel(String fingerprint) {
        try {
            return findModelRow(fingerprint);
        } catch (SQLException e) {
            throw failure("reading model " + fingerprint, e);
        }
    }

    private Optional<ModelRecord> findModelRow(String fingerprint) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT id, path, architecture, layers, hidden, fingerprint FROM models WHERE fingerprint = ?")) {
            ps.setString(1, fingerprint);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return Optional.empty();
                return Optional.of(new ModelRecord(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getInt(4),
                        rs.getInt(5), rs.getString(6)));
            }
        }
    }

    /**
     * Stores the vector, or returns the stored one equal in (model, trait, layer, method, position, sha256):
     * insert-or-reuse in one transaction, as {@link #saveModel}.
     */
    public synchronized VectorRecord saveVector(VectorRecord v) {
        String where = "model_id = ? AND trait = ? AND layer = ? AND method = ? AND position = ? AND sha256 = ?";
        return inTransaction("saving vector " + v.trait() + " layer " + v.layer(), () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO vectors(model_id, trait, layer, method, position, sha256, vector_norm, file) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                bindVectorKey(ps, v);
                ps.setDouble(7, v.vectorNorm());
                ps.setString(8, v.file());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT id, vector_norm, file FROM vectors WHERE " + where)) {
                bindVectorKey(ps, v);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) throw new SQLException("vector row vanished after insert");
                    return new VectorRecord(rs.getLong(1), v.modelId(), v.trait(), v.layer(), v.method(),
                            v.position(), rs.getDouble(2), rs.getString(3), v.sha256());
                }
            }
        });
    }

    private static void bindVectorKey(PreparedStatement ps, VectorRecord v) throws SQLException {
        ps.setLong(1, v.modelId());
        ps.setString(2, v.trait());
        ps.setInt(3, v.layer());
        ps.setString(4, v.method());
        ps.setString(5, v.position());
        ps.setString(6, v.sha256());
    }

    /**
     * Writes a run and all its responses in ONE transaction: afterwards the database holds either all of it or,
     * if anything failed (including the process dying), none of it. Insert-or-reuse under the write lock: when a
     * {@linkplain #isFinal final} run with the same config key is already stored (another process made it
     * meanwhile), that run is returned and nothing is written; a stored run that is not final (scores missing) is
     * replaced by this one.
     *
     * @return the run as stored, with its id: this one, or the final one that was there
     * @throws IllegalArgumentException when {@code run.n()} differs from the number of responses
     * @throws StoreException           when the write fails; nothing of it is kept
     * @throws BadInputException        when the disk or database is full; nothing of it is kept
     */
    public synchronized RunRecord saveRun(RunRecord run, List<ResponseRecord> responses) {
        if (run.n() != responses.size())
            throw new IllegalArgumentException("run n=" + run.n() + " but " + responses.size() + " responses given");
        return inTransaction("saving run " + run.configKey(), () -> {
            Optional<RunRecord> stored = firstRun(RunRows.SELECT + " WHERE config_key = ?", run.configKey());
            if (stored.isPresent()) {
                if (isFinalRow(stored.get())) return stored.get();
                try (PreparedStatement ps = conn.prepareStatement("DELETE FROM runs WHERE id = ?")) {
                    ps.setLong(1, stored.get().id());
                    ps.executeUpdate();   // its responses go with it (ON DELETE CASCADE)
                }
            }
            long id;
            try (PreparedStatement ps = conn.prepareStatement(RunRows.INSERT, Statement.RETURN_GENERATED_KEYS)) {
                RunRows.bind(ps, run);
                ps.executeUpdate();
                id = generatedId(ps);
            }
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO responses(run_id, idx, question, "
                    + "answer, trait_score, coherence_score) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (ResponseRecord r : responses) {
                    ps.setLong(1, id);
                    ps.setInt(2, r.idx());
                    ps.setString(3, r.question());
                    ps.setString(4, r.answer());
                    RunRows.setDouble(ps, 5, finiteOrNull(r.traitScore()));
                    RunRows.setDouble(ps, 6, finiteOrNull(r.coherenceScore()));
                    ps.executeUpdate();
                }
            }
            return run.withId(id);
        });
    }

    /** A score that is not a number is no score: stored as NULL (SQLite would turn NaN into NULL anyway). */
    private static Double finiteOrNull(Double d) {
        return d == null || !Double.isFinite(d) ? null : d;
    }

    /**
     * Whether a stored run is final, so a rerun may reuse it: {@link RunStatus#COMPLETE} and every response has both
     * scores. A run with scores missing (a judge outage, a rate limit) is not: a rerun asks the judge again.
     */
    public synchronized boolean isFinal(RunRecord run) {
        try {
            return isFinalRow(run);
        } catch (SQLException e) {
            throw failure("reading responses of run " + run.id(), e);
        }
    }

    private boolean isFinalRow(RunRecord run) throws SQLException {
        if (run.status() != RunStatus.COMPLETE) return false;
        try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM responses WHERE run_id = ? "
                + "AND (trait_score IS NULL OR coherence_score IS NULL)")) {
            ps.setLong(1, run.id());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getLong(1) == 0;
            }
        }
    }

    /** Work in one write transaction (IMMEDIATE: it waits for other writers at its start). */
    @FunctionalInterface
    private interface Work<T> {
        T run() throws SQLException;
    }

    private <T> T inTransaction(String what, Work<T> work) {
        try {
            conn.setAutoCommit(false);
            try {
                T result = work.run();
                conn.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                SqliteFile.rollback(conn, e);
                throw e;
            } finally {
                conn.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    /**
     * Sets a run's law norm and the ratio it gives (a run migrated from schema 1 had none); returns the run as stored.
     */
    public synchronized RunRecord setActivationNorm(RunRecord run, double activationNorm) {
        RunRecord updated = new RunRecord(run.id(), run.configKey(), run.modelId(), run.vectorId(), run.trait(), run.layer(),
                run.method(), run.coef(), run.positions(), run.judge(), run.coherenceJudge(), run.maxNewTokens(), run.seed(),
                run.temperature(), run.n(), run.traitMean(), run.coherenceMean(), run.baselineTraitMean(), run.delta(),
                run.vectorNorm(), activationNorm, run.steeredNormMean(), run.steeredRatio(), run.kind(), run.searchStep(),
                run.createdAt(), run.status());
        try (PreparedStatement ps = conn.prepareStatement("UPDATE runs SET activation_norm = ?, ratio = ? WHERE id = ?")) {
            ps.setDouble(1, activationNorm);
            RunRows.setDouble(ps, 2, updated.ratio());
            ps.setLong(3, run.id());
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failure("updating run " + run.configKey(), e);
        }
        return updated;
    }

    /** The stored run made with this {@link RunConfig#key()}, if any: a resumed sweep skips it. */
    public synchronized Optional<RunRecord> findByConfigKey(String configKey) {
        try {
            return firstRun(RunRows.SELECT + " WHERE config_key = ?", configKey);
        } catch (SQLException e) {
            throw failure("reading runs", e);
        }
    }

    /** Runs matching the filter, in the order they were stored. */
    public synchronized List<RunRecord> runs(RunFilter filter) {
        StringBuilder sql = new StringBuilder(RunRows.SELECT + " WHERE 1 = 1");
        List<String> args = new ArrayList<>();
        if (filter.trait() != null) {
            sql.append(" AND trait = ?");
            args.add(filter.trait());
        }
        if (filter.kind() != null) {
            sql.append(" AND kind = ?");
            args.add(filter.kind().dbName());
        }
        return query(sql.append(" ORDER BY id").toString(), args.toArray(String[]::new));
    }

    public List<RunRecord> runs() {
        return runs(RunFilter.ALL);
    }

    private List<RunRecord> query(String sql, String... args) {
        try {
            return rows(sql, args);
        } catch (SQLException e) {
            throw failure("reading runs", e);
        }
    }

    private Optional<RunRecord> firstRun(String sql, String... args) throws SQLException {
        return rows(sql, args).stream().findFirst();
    }

    private List<RunRecord> rows(String sql, String... args) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) ps.setString(i + 1, args[i]);
            List<RunRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(RunRows.read(rs, file));
            }
            return out;
        }
    }

    /** The run's responses by idx. */
    public synchronized List<ResponseRecord> responses(long runId) {
        try (PreparedStatement ps = conn.prepareStatement("SELECT idx, question, answer, trait_score, "
                + "coherence_score FROM responses WHERE run_id = ? ORDER BY idx")) {
            ps.setLong(1, runId);
            List<ResponseRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next())
                    out.add(new ResponseRecord(rs.getInt(1), rs.getString(2), rs.getString(3),
                            RunRows.getDouble(rs, "trait_score"), RunRows.getDouble(rs, "coherence_score")));
            }
            return out;
        } catch (SQLException e) {
            throw failure("reading responses of run " + runId, e);
        }
    }

    /** Every stored model, by id (what runs' {@code model_id} stands for). */
    public synchronized Map<Long, ModelRecord> models() {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, path, architecture, layers, hidden, fingerprint FROM models ORDER BY id")) {
            Map<Long, ModelRecord> out = new LinkedHashMap<>();
            while (rs.next())
                out.put(rs.getLong(1), new ModelRecord(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getInt(4), rs.getInt(5), rs.getString(6)));
            return out;
        } catch (SQLException e) {
            throw failure("reading models", e);
        }
    }

    /** Every stored vector, by id (what runs' {@code vector_id} stands for). */
    public synchronized Map<Long, VectorRecord> vectors() {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT id, model_id, trait, layer, method, position, vector_norm, file, sha256 FROM vectors ORDER BY id")) {
            Map<Long, VectorRecord> out = new LinkedHashMap<>();
            while (rs.next())
                out.put(rs.getLong(1), new VectorRecord(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getInt(4), rs.getString(5),
                        rs.getString(6), rs.getDouble(7), rs.getString(8), rs.getString(9)));
            return out;
        } catch (SQLException e) {
            throw failure("reading vectors", e);
        }
    }

    /** SQLite's {@code PRAGMA integrity_check}: "ok" for a sound file, otherwise the problems, one per line. */
    public synchronized String integrityCheck() {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("PRAGMA integrity_check")) {
            StringBuilder sb = new StringBuilder();
            while (rs.next()) sb.append(sb.length() == 0 ? "" : "\n").append(rs.getString(1));
            return sb.toString();
        } catch (SQLException e) {
            throw failure("checking integrity", e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            conn.close();
        } catch (SQLException e) {
            throw failure("closing", e);
        }
    }

    private static long generatedId(PreparedStatement ps) throws SQLException {
        try (ResultSet keys = ps.getGeneratedKeys()) {
            if (!keys.next()) throw new SQLException("no row id returned");
            return keys.getLong(1);
        }
    }

    private RuntimeException failure(String what, SQLException e) {
        return SqliteFile.failure(file, what, e);
    }

    private static String firstLine(String s) {
        return SqliteFile.firstLine(s);
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // already failing; the open error is the one worth reporting
        }
    }
}
