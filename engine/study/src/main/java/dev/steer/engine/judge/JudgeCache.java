package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
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
 * judge again. The key is SHA-256 of (judge id, rendered prompt): the prompt already contains question and answer
 * (and the trait definition), and the judge id keeps two judges' opinions apart.
 *
 * <p>Table {@code judge_cache(key TEXT PRIMARY KEY, judge TEXT, score REAL NULL, scored INTEGER)}. Only scored
 * answers are written ({@code scored = 1}); an unscored answer may well be scored on the next try (a rate limit, a
 * flaky server), so it is asked again rather than remembered. Methods are synchronized: one connection, many
 * judge threads.
 */
public final class JudgeCache implements AutoCloseable {

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
            db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
            try (Statement s = db.createStatement()) {
                // Another process (a second sweep) may hold the file briefly; wait rather than fail.
                s.execute("PRAGMA busy_timeout = 10000");
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
    public synchronized Map<String, Double> lookup(String judgeId, Collection<String> prompts) {
        Map<String, Double> found = new HashMap<>();
        try (PreparedStatement q = db.prepareStatement("SELECT score FROM judge_cache WHERE key = ? AND scored = 1")) {
            for (String prompt : prompts) {
                q.setString(1, key(judgeId, prompt));
                try (ResultSet r = q.executeQuery()) {
                    if (r.next()) {
                        found.put(prompt, r.getDouble(1));
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("judge cache " + file + ": lookup failed: " + oneLine(e), e);
        }
        return found;
    }

    /** Records scores (prompt → score in 0..100) in one transaction. */
    public synchronized void store(String judgeId, Map<String, Double> scores) {
        if (scores.isEmpty()) {
            return;
        }
        try {
            db.setAutoCommit(false);
            try (PreparedStatement u = db.prepareStatement(
                    "INSERT OR REPLACE INTO judge_cache(key, judge, score, scored) VALUES (?, ?, ?, 1)")) {
                for (Map.Entry<String, Double> e : scores.entrySet()) {
                    u.setString(1, key(judgeId, e.getKey()));
                    u.setString(2, judgeId);
                    u.setDouble(3, e.getValue());
                    u.addBatch();
                }
                u.executeBatch();
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("judge cache " + file + ": write failed: " + oneLine(e), e);
        }
    }

    /** Hex SHA-256 of the judge id and prompt, length-prefixed so no two pairs share an encoding. */
    static String key(String judgeId, String prompt) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] id = judgeId.getBytes(StandardCharsets.UTF_8);
            sha.update((id.length + ":").getBytes(StandardCharsets.UTF_8));
            sha.update(id);
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
