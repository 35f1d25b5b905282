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

    /** A judge giving fixed numbers by prompt (NaN from an overflowing logprob, or out of scale). */
    record FixedJudge(Map<String, Double> scores, List<String> asked) implements Judge {
        @Override
        public List<OptionalDouble> score(List<JudgeItem> items) {
            List<OptionalDouble> out = new ArrayList<>();
            for (JudgeItem item : items) {
                asked.add(item.prompt());
                out.add(OptionalDouble.of(scores.get(item.prompt())));
            }
            return out;
        }

        @Override
        public String id() {
            return "fixed";
        }
    }

    @Test
    void aScoreThatIsNotANumberIsUnscoredNeverZeroAndNeverCached(@TempDir Path dir) throws SQLException {
        Path file = dir.resolve("judge.sqlite");
        List<String> asked = new ArrayList<>();
        FixedJudge inner = new FixedJudge(Map.of("nan", Double.NaN, "inf", Double.POSITIVE_INFINITY, "big", 250.0, "ok", 42.0), asked);
        try (JudgeCache cache = JudgeCache.open(file)) {
            CachedJudge judge = new CachedJudge(inner, cache);
            List<OptionalDouble> s = judge.score(items("nan", "inf", "big", "ok"));
            assertEquals(List.of(OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.of(42.0)), s);
            assertEquals(3, judge.unscored());
            assertEquals("the judge gave 250.0, not a score in 0..100", judge.lastProblem().orElseThrow());
            // Asked again: the unscored ones go to the judge again, the scored one comes from the cache.
            asked.clear();
            judge.score(items("nan", "inf", "big", "ok"));
            assertEquals(List.of("nan", "inf", "big"), asked);
            assertThrows(IllegalArgumentException.class, () -> cache.store("fixed", Map.of("nan", Double.NaN)));
        }
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement st = db.createStatement();
             ResultSet r = st.executeQuery("SELECT count(*), min(score) FROM judge_cache")) {
            assertEquals(1, r.getInt(1), "only the real score is cached");
            assertEquals(42.0, r.getDouble(2));
        }
    }

    @Test
    void aRowWithoutAScoreNeverReadsBackAsZero(@TempDir Path dir) throws SQLException {
        Path file = dir.resolve("judge.sqlite");
        try (JudgeCache cache = JudgeCache.open(file)) {
            cache.store("len", Map.of("abc", 3.0));
        }
        // As an earlier steer wrote a NaN: SQLite stores it as NULL, with scored = 1.
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = db.createStatement()) {
            st.execute("UPDATE judge_cache SET score = NULL");
        }
        LengthJudge inner = new LengthJudge("len");
        try (JudgeCache cache = JudgeCache.open(file)) {
            assertEquals(Map.of(), cache.lookup("len", List.of("abc")));
            assertEquals(OptionalDouble.of(3.0), new CachedJudge(inner, cache).score(items("abc")).get(0));
            assertEquals(List.of("abc"), inner.asked, "asked again, not read back as 0.0");
        }
    }

    /** An OpenAI judge of one model name on two servers: scores of one are not the other's. */
    @Test
    void anOpenAiJudgesServerIsPartOfItsCacheKey(@TempDir Path dir) throws Exception {
        try (ScriptedChatServer first = new ScriptedChatServer(ScriptedChatServer.score(30));
             ScriptedChatServer second = new ScriptedChatServer(ScriptedChatServer.score(80));
             JudgeCache cache = JudgeCache.open(dir.resolve("judge.sqlite"))) {
            java.time.Duration t = java.time.Duration.ofSeconds(10);
            try (CachedJudge a = new CachedJudge(new OpenAiJudge(new OpenAiJudge.Config(first.baseUrl(), "", "local", 1, 1, t)), cache);
                 CachedJudge b = new CachedJudge(new OpenAiJudge(new OpenAiJudge.Config(second.baseUrl(), "", "local", 1, 1, t)), cache)) {
                assertEquals(a.id(), b.id());
                assertEquals(30.0, a.score(items("p")).get(0).orElseThrow(), 1e-9);
                assertEquals(80.0, b.score(items("p")).get(0).orElseThrow(), 1e-9);
                assertEquals(1, second.requests.get(), "the second server was asked, not answered from the first's score");
                assertEquals(30.0, a.score(items("p")).get(0).orElseThrow(), 1e-9);
                assertEquals(1, first.requests.get(), "the first server's score is cached under its own URL");
            }
        }
    }
}
