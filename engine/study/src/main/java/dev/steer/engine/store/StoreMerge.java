package dev.steer.engine.store;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code steer merge A.db B.db ... --into C.db}: the union of runs databases made apart (shards of one sweep, search
 * or study), in one transaction on the target: all sources merge or none does.
 *
 * <p>Rows are copied by the columns the target and the source share (read from the schema, so a column added
 * later travels without a change here) and deduplicated by their natural keys: models by fingerprint, vectors by
 * (model, trait, layer, method, position, sha256), runs by config_key. A run whose config key the target already
 * holds is skipped with its responses (the shards' baselines are the same run, so they are shared); every other
 * run gets a new id and its responses follow it, model and vector ids remapped. Judge caches (key → score) are
 * unioned too, first entry wins; a cache is only a cache, so it merges in its own transaction after the runs.
 * Every source is opened as a runs database first (which also migrates an older schema to this one), so a file
 * that is not one stops the merge before anything is written.
 */
public final class StoreMerge {
    /** What a merge did, for the command's summary. */
    public record Summary(int sources, int runsAdded, int runsAlreadyPresent, int responsesAdded, int modelsAdded,
                          int vectorsAdded, int cacheEntriesAdded) {
    }

    private static final List<String> VECTOR_KEY = List.of("model_id", "trait", "layer", "method", "position", "sha256");

    private StoreMerge() {
    }

    /**
     * @param caches     each source's judge cache file (absent files are skipped), in the order of {@code sources}
     * @param intoCache  the target's judge cache, created if needed; null to merge no caches
     * @throws BadInputException naming the file when a source is missing, is the target, is listed twice, or is not a
     *                           runs database
     */
    public static Summary merge(List<Path> sources, Path into, List<Path> caches, Path intoCache) {
        if (sources.isEmpty()) throw new BadInputException("merge: give at least one database to merge");
        Set<Path> seen = new LinkedHashSet<>();
        Path target = normal(into);
        for (Path s : sources) {
            if (!Files.isRegularFile(s)) throw new BadInputException(s + ": no such runs database");
            Path n = normal(s);
            if (!seen.add(n)) throw new BadInputException(s + ": listed twice");
            if (n.equals(target) || sameFile(s, into)) throw new BadInputException("--into " + into + ": is also a source; merge into a new or another file");
        }
        for (Path s : sources) RunStore.open(s).close();   // a runs database, at this schema version, or bad input now
        // Every source's judge cache is read before anything is written: a bad one must not leave the runs merged
        // and the caches not.
        if (intoCache != null) for (Path cache : caches) if (cache != null && Files.isRegularFile(cache)) checkCache(cache);
        RunStore.open(into).close();
        int[] counts = new int[5];
        // The store's own opener: WAL, its busy timeout, foreign keys, write transactions that lock at their start.
        try (Connection c = SqliteFile.openReadWrite(into)) {
            // One transaction for every source: a kill or an error leaves the target as it was. Sources are read
            // through their own connections, so any number of them merges (SQLite attaches at most ten).
            c.setAutoCommit(false);
            try {
                for (Path source : sources)
                    try (Connection src = SqliteFile.openReadOnly(source)) {
                        mergeOne(src, c, counts);
                    }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StoreException(into + ": merge failed: " + e.getMessage(), e);
        }
        int cache = intoCache == null ? 0 : mergeCaches(caches, intoCache);
        return new Summary(sources.size(), counts[0], counts[1], counts[2], counts[3], counts[4], cache);
    }

    private static void mergeOne(Connection src, Connection c, int[] counts) throws SQLException {
        Map<Long, Long> models = new HashMap<>(), vectors = new HashMap<>();
        List<String> modelCols = shared(src, c, "models");
        for (Map<String, Object> m : rows(src, "SELECT * FROM models ORDER BY id", modelCols)) {
            Long id = findId(c, "models", List.of("fingerprint"), m);
            if (id == null) {
                id = insert(c, "models", modelCols, m);
                counts[3]++;
            }
            models.put((Long) m.get("id"), id);
        }
        List<String> vectorCols = shared(src, c, "vectors");
        for (Map<String, Object> v : rows(src, "SELECT * FROM vectors ORDER BY id", vectorCols)) {
            v.put("model_id", models.get(((Number) v.get("model_id")).longValue()));
            Long id = findId(c, "vectors", VECTOR_KEY.stream().filter(vectorCols::contains).toList(), v);
            if (id == null) {
                id = insert(c, "vectors", vectorCols, v);
                counts[4]++;
            }
            vectors.put((Long) v.get("id"), id);
        }
        List<String> runCols = shared(src, c, "runs");
        List<String> responseCols = shared(src, c, "responses");
        for (Map<String, Object> r : rows(src, "SELECT * FROM runs ORDER BY id", runCols)) {
            if (findId(c, "runs", List.of("config_key"), r) != null) {
                counts[1]++;
                continue;
            }
            long srcId = (Long) r.get("id");
            r.put("model_id", models.get(((Number) r.get("model_id")).longValue()));
            if (r.get("vector_id") != null) r.put("vector_id", vectors.get(((Number) r.get("vector_id")).longValue()));
            long id = insert(c, "runs", runCols, r);
            counts[0]++;
            try (PreparedStatement q = src.prepareStatement("SELECT * FROM responses WHERE run_id = ? ORDER BY idx")) {
                q.setLong(1, srcId);
                for (Map<String, Object> resp : read(q, responseCols)) {
                    resp.put("run_id", id);
                    insertKeepingAll(c, "responses", responseCols, resp);
                    counts[2]++;
                }
            }
        }
    }

    /** The columns of {@code table} in both the target and the source, in the target's order. */
    private static List<String> shared(Connection src, Connection c, String table) throws SQLException {
        List<String> target = columns(c, "main", table), source = columns(src, "main", table);
        List<String> out = new ArrayList<>();
        for (String col : target) if (source.contains(col)) out.add(col);
        return out;
    }

    private static List<String> columns(Connection c, String schema, String table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA " + schema + ".table_info(" + table + ")")) {
            while (rs.next()) out.add(rs.getString("name"));
        }
        return out;
    }

    private static List<Map<String, Object>> rows(Connection c, String sql, List<String> cols) throws SQLException {
        try (PreparedStatement q = c.prepareStatement(sql)) {
            return read(q, cols);
        }
    }

    private static List<Map<String, Object>> read(PreparedStatement q, List<String> cols) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (ResultSet rs = q.executeQuery()) {
            while (rs.next()) {
                Map<String, Object> row = new HashMap<>();
                for (String col : cols) {
                    Object v = rs.getObject(col);
                    row.put(col, v instanceof Integer i ? Long.valueOf(i) : v);
                }
                out.add(row);
            }
        }
        return out;
    }

    /** The target's id of the row equal to {@code row} on {@code key} (NULLs equal), or null. */
    private static Long findId(Connection c, String table, List<String> key, Map<String, Object> row) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT id FROM ").append(table).append(" WHERE ");
        for (int i = 0; i < key.size(); i++) sql.append(i == 0 ? "" : " AND ").append(key.get(i)).append(" IS ?");
        try (PreparedStatement q = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < key.size(); i++) q.setObject(i + 1, row.get(key.get(i)));
            try (ResultSet rs = q.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    /** Inserts every shared column but id (the target numbers its own rows); returns the new id. */
    private static long insert(Connection c, String table, List<String> cols, Map<String, Object> row) throws SQLException {
        List<String> copy = cols.stream().filter(col -> !col.equals("id")).toList();
        insertColumns(c, table, copy, row);
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT last_insert_rowid()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void insertKeepingAll(Connection c, String table, List<String> cols, Map<String, Object> row) throws SQLException {
        insertColumns(c, table, cols, row);
    }

    private static void insertColumns(Connection c, String table, List<String> cols, Map<String, Object> row) throws SQLException {
        String sql = "INSERT INTO " + table + "(" + String.join(", ", cols) + ") VALUES ("
                + String.join(", ", cols.stream().map(x -> "?").toList()) + ")";
        try (PreparedStatement p = c.prepareStatement(sql)) {
            for (int i = 0; i < cols.size(); i++) p.setObject(i + 1, row.get(cols.get(i)));
            p.executeUpdate();
        }
    }

    /** Unions the judge caches (same key: the target's entry stays); returns the entries added. */
    private static int mergeCaches(List<Path> caches, Path intoCache) {
        int added = 0;
        try (Connection c = SqliteFile.openReadWrite(intoCache)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE IF NOT EXISTS judge_cache(key TEXT PRIMARY KEY, judge TEXT, score REAL NULL, scored INTEGER)");
            }
            for (Path cache : caches) {
                if (cache == null || !Files.isRegularFile(cache) || normal(cache).equals(normal(intoCache))) continue;
                try (Statement st = c.createStatement()) {
                    st.execute("ATTACH DATABASE '" + cache.toAbsolutePath().toString().replace("'", "''") + "' AS cache");
                    try {
                        List<String> cols = new ArrayList<>();
                        for (String col : columns(c, "main", "judge_cache")) if (columns(c, "cache", "judge_cache").contains(col)) cols.add(col);
                        String list = String.join(", ", cols);
                        added += st.executeUpdate("INSERT OR IGNORE INTO main.judge_cache(" + list + ") SELECT " + list + " FROM cache.judge_cache");
                    } finally {
                        st.execute("DETACH DATABASE cache");
                    }
                }
            }
        } catch (SQLException e) {
            throw new StoreException(intoCache + ": judge cache merge failed: " + e.getMessage(), e);
        }
        return added;
    }

    /** Two names of one file (a hard link, a bind mount), which path comparison cannot see. */
    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static void checkCache(Path cache) {
        try (Connection c = SqliteFile.openReadOnly(cache); Statement st = c.createStatement()) {
            st.executeQuery("SELECT count(*) FROM judge_cache").close();
        } catch (SQLException e) {
            throw new BadInputException(cache + ": not a judge cache steer can merge (" + e.getMessage() + ")", e);
        }
    }

    private static Path normal(Path p) {
        try {
            return Files.exists(p) ? p.toRealPath() : p.toAbsolutePath().normalize();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
