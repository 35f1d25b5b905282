package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;
import dev.steer.engine.store.SqliteFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Judge scores that have already been paid for, in a SQLite file, so a resumed or repeated sweep does not ask the
 * judge again. The key is SHA-256 of (key form, the judge's {@link Judge#scoreIdentity()}, rendered prompt): the
 * prompt already contains question and answer (and the trait definition), and the identity keeps two judges' (and
 * two servers') opinions apart. The key form was bumped when the identity began to include an OpenAI judge's server,
 * so scores cached by earlier versions (keyed by model name alone) are not reused.
 *
 * <p>Table {@code judge_cache(key TEXT PRIMARY KEY, judge TEXT, score REAL NULL, scored INTEGER)}. Only scores are
 * written, and only finite ones in 0..100 ({@code scored = 1}); an unscored answer may well be scored on the next try
 * (a rate limit, a flaky server), so it is asked again rather than remembered, and a row without a score never reads
 * back as one. Opened through {@link SqliteFile} like the runs database: several sweeps may share the file. Methods
 * are synchronized: one connection, many judge threads.
 */
public final class JudgeCache implements AutoCloseable {
    /** Part of every key; bumped when what a key covers changes, so older entries are never matched. */
    private static final String KEY_FORM = "judge-cache/2";

    private final Path file;
    private final Connection db;

    private JudgeCache(Path file, Connection db) {
        this.file = file;
        this.db = db;
    }

    /**
     * Opens (creating if needed) the cache file and its table.
     *
     * @throws BadInputException when the file cannot be created or is not a SQLite database
     */
    public static JudgeCache open(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new BadInputException("judge cache " + file + ": cannot create its directory: " + e.getMessage(), e);
        }
        Connection db = null;
        try {
            db = SqliteFile.openReadWrite(file);
            try (Statement s = db.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS judge_cache("
                        + "key TEXT PRIMARY KEY, judge TEXT, score REAL NULL, scored INTEGER)");
            }
            return new JudgeCache(file, db);
        } catch (SQLException e) {
            closeQuietly(db);
            throw new BadInputException("judge cache " + file + ": not a usable SQLite file: " + oneLine(e), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Cached scores of those {@code prompts} that have one, by prompt. */
    public synchronized Map<String, Double> lookup(String judgeIdentity, Collection<String> prompts) {
        Map<String, Double> found = new HashMap<>();
        try (PreparedStatement q = db.prepareStatement(
                "SELECT score FROM judge_cache WHERE key = ? AND scored = 1 AND score IS NOT NULL")) {
            for (String prompt : prompts) {
                q.setString(1, key(judgeIdentity, prompt));
                try (ResultSet r = q.executeQuery()) {
                    if (r.next()) {
                        double score = r.getDouble(1);
                        if (!r.wasNull() && usable(score)) found.put(prompt, score);
                    }
                }
            }
        } catch (SQLException e) {
            throw SqliteFile.failure(file, "judge cache lookup", e);
        }
        return found;
    }

    /**
     * Records scores (prompt → score in 0..100) in one transaction; an upsert, so two processes storing the same
     * answer's score both succeed.
     *
     * @throws IllegalArgumentException for a score that is not finite or outside 0..100 (a judge's bug: it must
     *                                  report such an answer unscored, never cache it as scored)
     */
    public synchronized void store(String judgeIdentity, Map<String, Double> scores) {
        if (scores.isEmpty()) {
            return;
        }
        for (Map.Entry<String, Double> e : scores.entrySet())
            if (e.getValue() == null || !usable(e.getValue()))
                throw new IllegalArgumentException("judge " + judgeIdentity + " gave score " + e.getValue() + ", not in 0..100");
        try {
            db.setAutoCommit(false);
            try (PreparedStatement u = db.prepareStatement(
                    "INSERT INTO judge_cache(key, judge, score, scored) VALUES (?, ?, ?, 1) "
                            + "ON CONFLICT(key) DO UPDATE SET judge = excluded.judge, score = excluded.score, scored = 1")) {
                for (Map.Entry<String, Double> e : scores.entrySet()) {
                    u.setString(1, key(judgeIdentity, e.getKey()));
                    u.setString(2, judgeIdentity);
                    u.setDouble(3, e.getValue());
                    u.addBatch();
                }
                u.executeBatch();
                db.commit();
            } catch (SQLException | RuntimeException e) {
                SqliteFile.rollback(db, e);
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw SqliteFile.failure(file, "judge cache write", e);
        }
    }

    /** A score the cache holds: finite and on the 0-100 scale. */
    static boolean usable(double score) {
        return Double.isFinite(score) && score >= 0 && score <= 100;
    }

    /** Hex SHA-256 of the key form, judge identity and prompt, length-prefixed so no two triples share an encoding. */
    static String key(String judgeIdentity, String prompt) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String part : new String[] {KEY_FORM, judgeIdentity}) {
                byte[] b = part.getBytes(StandardCharsets.UTF_8);
                sha.update((b.length + ":").getBytes(StandardCharsets.UTF_8));
                sha.update(b);
            }
            sha.update(prompt.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    @Override
    public synchronized void close() {
        closeQuietly(db);
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing is best effort; nothing useful to do with the failure
            }
        }
    }

    private static String oneLine(Exception e) {
        return String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
    }
}
