package dev.steer.engine.store;

import dev.steer.engine.BadInputException;
import org.sqlite.SQLiteConfig;

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
 * {@link #BUSY_TIMEOUT_MS} instead of failing.
 *
 * <p>One connection, used from one thread at a time (methods are synchronized).
 */
public final class RunStore implements AutoCloseable {
    public static final String DEFAULT_FILE = "steer-runs.db";
    static final int BUSY_TIMEOUT_MS = 30_000;

    private final Path file;
    private final Connection conn;

    private RunStore(Path file, Connection conn) {
        this.file = file;
        this.conn = conn;
    }

    /**
     * Opens (creating if absent) a runs database.
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
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        // IMMEDIATE: a write transaction takes the write lock when it begins, so it waits (busy timeout) there
        // instead of failing half-way when another process writes too.
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        Connection c = null;
        try {
            c = config.createConnection("jdbc:sqlite:" + abs);
            try (Statement st = c.createStatement()) {
                // The first statement reads the header: a non-database file fails here (SQLITE_NOTADB).
                st.execute("PRAGMA journal_mode=WAL");
                st.execute("PRAGMA synchronous=FULL");
                st.execute("PRAGMA foreign_keys=ON");
            }
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

    public Path file() {
        return file;
    }

    /** Stores the model, or returns the stored one with the same fingerprint. */
    public synchronized ModelRecord saveModel(ModelRecord m) {
        try {
            Optional<ModelRecord> existing = findModel(m.fingerprint());
            if (existing.isPresent()) return existing.get();
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO models(path, architecture, layers, hidden, fingerprint) VALUES (?, ?, ?, ?, ?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, m.path());
                ps.setString(2, m.architecture());
                ps.setInt(3, m.layers());
                ps.setInt(4, m.hidden());
                ps.setString(5, m.fingerprint());
                ps.executeUpdate();
                return m.withId(generatedId(ps));
            }
        } catch (SQLException e) {
            throw failure("saving model " + m.path(), e);
        }
    }

    public synchronized Optional<ModelRecord> findModel(String fingerprint) {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT id, path, architecture, layers, hidden, fingerprint FROM models WHERE fingerprint = ?")) {
            ps.setString(1, fingerprint);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return Optional.empty();
                return Optional.of(new ModelRecord(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getInt(4),
                        rs.getInt(5), rs.getString(6)));
            }
        } catch (SQLException e) {
            throw failure("reading model " + fingerprint, e);
        }
    }

    /** Stores the vector, or returns the stored one equal in (model, trait, layer, method, position, sha256). */
    public synchronized VectorRecord saveVector(VectorRecord v) {
        String where = "model_id = ? AND trait = ? AND layer = ? AND method = ? AND position = ? AND sha256 = ?";
        try {
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, vector_norm, file FROM vectors WHERE " + where)) {
                bindVectorKey(ps, v);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next())
                        return new VectorRecord(rs.getLong(1), v.modelId(), v.trait(), v.layer(), v.method(),
                                v.position(), rs.getDouble(2), rs.getString(3), v.sha256());
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO vectors(model_id, trait, layer, method, position, sha256, vector_norm, file) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                bindVectorKey(ps, v);
                ps.setDouble(7, v.vectorNorm());
                ps.setString(8, v.file());
                ps.executeUpdate();
                return v.withId(generatedId(ps));
            }
        } catch (SQLException e) {
            throw failure("saving vector " + v.trait() + " layer " + v.layer(), e);
        }
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
     * if anything failed (including the process dying), none of it.
     *
     * @return the run with its id
     * @throws IllegalArgumentException when {@code run.n()} differs from the number of responses
     * @throws StoreException           when the write fails (e.g. the config key is already stored); nothing is kept
     */
    public synchronized RunRecord saveRun(RunRecord run, List<ResponseRecord> responses) {
        if (run.n() != responses.size())
            throw new IllegalArgumentException("run n=" + run.n() + " but " + responses.size() + " responses given");
        try {
            conn.setAutoCommit(false);
            try {
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
                        RunRows.setDouble(ps, 5, r.traitScore());
                        RunRows.setDouble(ps, 6, r.coherenceScore());
                        ps.executeUpdate();
                    }
                }
                conn.commit();
                return run.withId(id);
            } catch (SQLException | RuntimeException e) {
                conn.rollback();
                throw e;
            } finally {
                conn.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure("saving run " + run.configKey(), e);
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
        List<RunRecord> found = query(RunRows.SELECT + " WHERE config_key = ?", configKey);
        return found.stream().findFirst();
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
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) ps.setString(i + 1, args[i]);
            List<RunRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(RunRows.read(rs));
            }
            return out;
        } catch (SQLException e) {
            throw failure("reading runs", e);
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

    private StoreException failure(String what, SQLException e) {
        return new StoreException(file + ": " + what + " failed: " + firstLine(e.getMessage()), e);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown SQLite error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
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
