package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JudgeCacheTest {

    /** Scores a prompt by its length; prompts starting with "?" are unscored. Records what it was asked. */
    static final class LengthJudge implements Judge {
        final List<String> asked = new ArrayList<>();
        private final String id;

        LengthJudge(String id) {
            this.id = id;
        }

        @Override
        public List<OptionalDouble> score(List<JudgeItem> items) {
            List<OptionalDouble> out = new ArrayList<>();
            for (JudgeItem item : items) {
                asked.add(item.prompt());
                out.add(item.prompt().startsWith("?") ? OptionalDouble.empty() : OptionalDouble.of(item.prompt().length()));
            }
            return out;
        }

        @Override
        public String id() {
            return id;
        }
    }

    private static List<JudgeItem> items(String... prompts) {
        return Arrays.stream(prompts).map(p -> new JudgeItem(p, "q", "a")).toList();
    }

    @Test
    void storesOnlyScoredAnswersAndAsksOnlyWhatItLacks(@TempDir Path dir) throws SQLException {
        Path file = dir.resolve("sub/judge.sqlite");
        LengthJudge inner = new LengthJudge("len");
        try (JudgeCache cache = JudgeCache.open(file)) {
            CachedJudge judge = new CachedJudge(inner, cache);
            List<OptionalDouble> s = judge.score(items("abc", "?x", "abcdef", "abc"));
            assertEquals(3.0, s.get(0).orElseThrow());
            assertTrue(s.get(1).isEmpty());
            assertEquals(6.0, s.get(2).orElseThrow());
            assertEquals(3.0, s.get(3).orElseThrow());
            assertEquals(List.of("abc", "?x", "abcdef"), inner.asked);

            inner.asked.clear();
            s = judge.score(items("abcdef", "?x", "abcd"));
            assertEquals(List.of("?x", "abcd"), inner.asked);
            assertEquals(6.0, s.get(0).orElseThrow());
            assertEquals(4.0, s.get(2).orElseThrow());
        }
        // The table has the documented shape and holds three scored rows, no unscored ones.
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement st = db.createStatement();
             ResultSet r = st.executeQuery("SELECT judge, score, scored FROM judge_cache ORDER BY score")) {
            List<Double> scores = new ArrayList<>();
            while (r.next()) {
                assertEquals("len", r.getString(1));
                assertEquals(1, r.getInt(3));
                scores.add(r.getDouble(2));
            }
            assertEquals(List.of(3.0, 4.0, 6.0), scores);
        }
    }

    @Test
    void survivesReopeningAndSeparatesJudges(@TempDir Path dir) {
        Path file = dir.resolve("judge.sqlite");
        try (JudgeCache cache = JudgeCache.open(file)) {
            cache.store("a", Map.of("prompt", 42.5));
        }
        try (JudgeCache cache = JudgeCache.open(file)) {
            assertEquals(Map.of("prompt", 42.5), cache.lookup("a", List.of("prompt", "other")));
            assertEquals(Map.of(), cache.lookup("b", List.of("prompt")));
            LengthJudge b = new LengthJudge("b");
            new CachedJudge(b, cache).score(items("prompt"));
            assertEquals(List.of("prompt"), b.asked);
        }
    }

    @Test
    void keyIsUnambiguous() {
        assertNotEquals(JudgeCache.key("ab", "c"), JudgeCache.key("a", "bc"));
        // SHA-256 of "13:judge-cache/21:jp" (length-prefixed key form and id, then prompt), as computed by Python hashlib.
        assertEquals("eb5c40cdb9c773156a743ff32fa42438edec547fd19e2e725763ef63d2e78490", JudgeCache.key("j", "p"));
    }

    @Test
    void notASqliteFileIsNamed(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("cache.sqlite");
        Files.writeString(file, "this is plainly not a SQLite database, but it is long enough to have a header page");
        BadInputException e = assertThrows(BadInputException.class, () -> JudgeCache.open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void uncreatableDirectoryIsNamed(@TempDir Path dir) throws IOException {
        Path blocker = dir.resolve("blocker");
        Files.writeString(blocker, "a file where a directory should be");
        Path file = blocker.resolve("cache.sqlite");
        BadInputException e = assertThrows(BadInputException.class, () -> JudgeCache.open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
