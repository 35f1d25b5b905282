package dev.steer.engine.store;

import dev.steer.engine.BadInputException;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Maps {@link RunRecord}s to and from rows of the runs table. */
final class RunRows {
    static final String COLUMNS = "config_key, model_id, vector_id, trait, layer, method, coef, positions, judge, "
            + "coherence_judge, max_new_tokens, seed, temperature, n, trait_mean, coherence_mean, baseline_trait_mean, "
            + "delta, vector_norm, activation_norm, ratio, steered_norm_mean, steered_ratio, kind, search_step, created_at, status";
    static final String INSERT = "INSERT INTO runs(" + COLUMNS + ") VALUES (" + "?, ".repeat(26) + "?)";
    static final String SELECT = "SELECT id, " + COLUMNS + " FROM runs";

    private RunRows() {
    }

    static void bind(PreparedStatement ps, RunRecord r) throws SQLException {
        int i = 1;
        ps.setString(i++, r.configKey());
        ps.setLong(i++, r.modelId());
        setLong(ps, i++, r.vectorId());
        ps.setString(i++, r.trait());
        setInt(ps, i++, r.layer());
        ps.setString(i++, r.method());
        ps.setDouble(i++, r.coef());
        ps.setString(i++, r.positions());
        ps.setString(i++, r.judge());
        ps.setString(i++, r.coherenceJudge());
        ps.setInt(i++, r.maxNewTokens());
        ps.setLong(i++, r.seed());
        ps.setDouble(i++, r.temperature());
        ps.setInt(i++, r.n());
        for (Double d : new Double[] {r.traitMean(), r.coherenceMean(), r.baselineTraitMean(), r.delta(),
                r.vectorNorm(), r.activationNorm(), r.ratio(), r.steeredNormMean(), r.steeredRatio()})
            setDouble(ps, i++, d);
        ps.setString(i++, r.kind().dbName());
        setInt(ps, i++, r.searchStep());
        ps.setString(i++, r.createdAt().toString());
        ps.setString(i, r.status().dbName());
    }

    /**
     * @throws BadInputException naming the file, the run and the column when a stored value is not one steer writes
     *                           (the file was edited by hand or by another tool)
     */
    static RunRecord read(ResultSet rs, Path file) throws SQLException {
        long id = rs.getLong("id");
        String created = rs.getString("created_at");
        Instant createdAt;
        try {
            createdAt = Instant.parse(created);
        } catch (DateTimeParseException | NullPointerException e) {
            throw new BadInputException(file + ": run " + id + ": created_at '" + created
                    + "' is not an ISO-8601 UTC instant such as 2026-01-31T12:00:00Z", e);
        }
        RunKind kind;
        RunStatus status;
        try {
            kind = RunKind.fromDb(rs.getString("kind"));
            status = RunStatus.fromDb(rs.getString("status"));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new BadInputException(file + ": run " + id + ": kind '" + rs.getString("kind") + "' or status '"
                    + rs.getString("status") + "' is not one steer writes", e);
        }
        return read(rs, kind, createdAt, status);
    }

    private static RunRecord read(ResultSet rs, RunKind kind, Instant createdAt, RunStatus status) throws SQLException {
        return new RunRecord(rs.getLong("id"), rs.getString("config_key"), rs.getLong("model_id"),
                getLong(rs, "vector_id"), rs.getString("trait"), getInt(rs, "layer"), rs.getString("method"),
                rs.getDouble("coef"), rs.getString("positions"), rs.getString("judge"),
                rs.getString("coherence_judge"), rs.getInt("max_new_tokens"), rs.getLong("seed"),
                rs.getDouble("temperature"), rs.getInt("n"), getDouble(rs, "trait_mean"),
                getDouble(rs, "coherence_mean"), getDouble(rs, "baseline_trait_mean"), getDouble(rs, "delta"),
                getDouble(rs, "vector_norm"), getDouble(rs, "activation_norm"), getDouble(rs, "steered_norm_mean"),
                getDouble(rs, "steered_ratio"),
                kind, getInt(rs, "search_step"), createdAt, status);
    }

    static void setDouble(PreparedStatement ps, int i, Double v) throws SQLException {
        if (v == null) ps.setNull(i, Types.REAL);
        else ps.setDouble(i, v);
    }

    static void setInt(PreparedStatement ps, int i, Integer v) throws SQLException {
        if (v == null) ps.setNull(i, Types.INTEGER);
        else ps.setInt(i, v);
    }

    static void setLong(PreparedStatement ps, int i, Long v) throws SQLException {
        if (v == null) ps.setNull(i, Types.INTEGER);
        else ps.setLong(i, v);
    }

    static Double getDouble(ResultSet rs, String col) throws SQLException {
        double v = rs.getDouble(col);
        return rs.wasNull() ? null : v;
    }

    static Integer getInt(ResultSet rs, String col) throws SQLException {
        int v = rs.getInt(col);
        return rs.wasNull() ? null : v;
    }

    static Long getLong(ResultSet rs, String col) throws SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : v;
    }
}
