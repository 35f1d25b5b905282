package dev.steer.engine.judge;

import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import static dev.steer.engine.judge.ScriptedChatServer.NINEISH_SCORE;
import static dev.steer.engine.judge.ScriptedChatServer.completion;
import static dev.steer.engine.judge.ScriptedChatServer.nineish;
import static dev.steer.engine.judge.ScriptedChatServer.raw;
import static dev.steer.engine.judge.ScriptedChatServer.slow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class OpenAiJudgeTest {

    private static final int MAX_ATTEMPTS = 3;
    private ScriptedChatServer server;

    @BeforeEach
    void start() throws Exception {
        server = new ScriptedChatServer(nineish());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private OpenAiJudge judge(int concurrency) {
        return new OpenAiJudge(new OpenAiJudge.Config(server.baseUrl(), "sk-test", "judge-model", concurrency,
                MAX_ATTEMPTS, Duration.ofMillis(300), Duration.ofMillis(10)));
    }

    private static JudgeItem item(String prompt) {
        return new JudgeItem(prompt, "q", "a");
    }

    private OptionalDouble scoreOne(String prompt) {
        try (OpenAiJudge judge = judge(2)) {
            List<OptionalDouble> scores = judge.score(List.of(item(prompt)));
            assertEquals(1, scores.size());
            return scores.get(0);
        }
    }

    @Test
    void sendsOneTokenTopTwentyRequestAndScoresTheLogprobs() {
        OptionalDouble s = scoreOne("Rate this answer");
        assertEquals(NINEISH_SCORE, s.orElseThrow(), 1e-9);
        assertEquals(1, server.requests.get());
        JsonObject body = server.bodies.get(0);
        assertEquals("judge-model", body.get("model").getAsString());
        assertEquals(1, body.get("max_tokens").getAsInt());
        assertEquals(0.0, body.get("temperature").getAsDouble());
        assertTrue(body.get("logprobs").getAsBoolean());
        assertEquals(20, body.get("top_logprobs").getAsInt());
        JsonObject message = body.getAsJsonArray("messages").get(0).getAsJsonObject();
        assertEquals("user", message.get("role").getAsString());
        assertEquals("Rate this answer", message.get("content").getAsString());
        assertEquals("Bearer sk-test", server.authorizations.get(0));
    }

    @Test
    void rateLimitIsRetriedHonouringRetryAfter() {
        server.script("p", raw(429, "{\"error\":{\"message\":\"Rate limit\"}}", Map.of("Retry-After", "0")));
        assertEquals(NINEISH_SCORE, scoreOne("p").orElseThrow(), 1e-9);
        assertEquals(2, server.requests.get());
    }

    @Test
    void serverErrorIsRetried() {
        server.script("p", raw(500, "internal error", Map.of()), raw(503, "", Map.of()));
        assertEquals(NINEISH_SCORE, scoreOne("p").orElseThrow(), 1e-9);
        assertEquals(3, server.requests.get());
    }

    @Test
    void timeoutIsRetried() {
        long start = System.nanoTime();
        server.script("p", slow(2_000, nineish()));
        assertEquals(NINEISH_SCORE, scoreOne("p").orElseThrow(), 1e-9);
        assertEquals(2, server.requests.get());
        // The client gave up at its 300 ms timeout instead of waiting out the 2 s reply.
        assertTrue(System.nanoTime() - start < 1_800_000_000L, "client waited for the slow reply");
    }

    @Test
    void garbageIsUnscoredAfterEveryAttemptNotZero() {
        server.fallback = raw(200, "<html>not json", Map.of());
        try (OpenAiJudge judge = judge(2)) {
            assertTrue(judge.score(List.of(item("p"))).get(0).isEmpty());
            assertEquals(MAX_ATTEMPTS, server.requests.get());
            assertTrue(judge.lastProblem().orElseThrow().contains("not JSON"), judge.lastProblem().orElseThrow());
        }
    }

    @Test
    void structurallyWrongResponseIsRetriedThenUnscored() {
        server.fallback = raw(200, "{\"choices\":[{\"message\":{\"content\":\"7\"},\"logprobs\":null}]}", Map.of());
        assertTrue(scoreOne("p").isEmpty());
        assertEquals(MAX_ATTEMPTS, server.requests.get());
    }

    @Test
    void garbageThenGoodResponseScores() {
        server.script("p", raw(200, "{\"choices\":[]}", Map.of()));
        assertEquals(NINEISH_SCORE, scoreOne("p").orElseThrow(), 1e-9);
        assertEquals(2, server.requests.get());
    }

    @Test
    void noDigitsAmongTopLogprobsIsUnscoredWithoutRetrying() {
        server.fallback = completion(Map.of("I", 0.7, "Sorry", 0.2, "As", 0.1));
        assertTrue(scoreOne("p").isEmpty());
        assertEquals(1, server.requests.get());
    }

    @Test
    void oneBadAnswerDoesNotSinkTheBatch() {
        server.script("bad", raw(200, "garbage", Map.of()), raw(200, "garbage", Map.of()), raw(200, "garbage", Map.of()));
        try (OpenAiJudge judge = judge(2)) {
            List<OptionalDouble> s = judge.score(List.of(item("good1"), item("bad"), item("good2")));
            assertEquals(NINEISH_SCORE, s.get(0).orElseThrow(), 1e-9);
            assertTrue(s.get(1).isEmpty());
            assertEquals(NINEISH_SCORE, s.get(2).orElseThrow(), 1e-9);
        }
    }

    @Test
    void badRequestIsUnscoredWithoutRetrying() {
        server.fallback = raw(400, "{\"error\":{\"message\":\"context length exceeded\"}}", Map.of());
        assertTrue(scoreOne("p").isEmpty());
        assertEquals(1, server.requests.get());
    }

    @Test
    void unauthorizedIsAConfigurationErrorNamingUrlAndModel() {
        server.fallback = raw(401, "{\"error\":{\"message\":\"Incorrect API key\"}}", Map.of());
        try (OpenAiJudge judge = judge(2)) {
            BadInputException e = assertThrows(BadInputException.class, () -> judge.score(List.of(item("a"), item("b"))));
            assertTrue(e.getMessage().contains(server.baseUrl()), e.getMessage());
            assertTrue(e.getMessage().contains("judge-model"), e.getMessage());
            assertTrue(e.getMessage().contains("401"), e.getMessage());
            assertTrue(e.getMessage().contains("OPENAI_API_KEY"), e.getMessage());
            assertTrue(server.requests.get() <= 2, "401 must not be retried");
        }
    }

    @Test
    void unknownModelIsAConfigurationError() {
        server.fallback = raw(404, "{\"error\":{\"message\":\"The model does not exist\"}}", Map.of());
        try (OpenAiJudge judge = judge(1)) {
            BadInputException e = assertThrows(BadInputException.class, () -> judge.score(List.of(item("a"))));
            assertTrue(e.getMessage().contains("404") && e.getMessage().contains("judge-model"), e.getMessage());
            assertEquals(1, server.requests.get());
        }
    }

    @Test
    void concurrencyBoundIsRespected() {
        server.fallback = slow(100, nineish());
        List<JudgeItem> items = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            items.add(item("prompt " + i));
        }
        try (OpenAiJudge judge = judge(3)) {
            List<OptionalDouble> s = judge.score(items);
            s.forEach(x -> assertEquals(NINEISH_SCORE, x.orElseThrow(), 1e-9));
        }
        assertEquals(12, server.requests.get());
        assertTrue(server.maxInFlight.get() <= 3, "in flight " + server.maxInFlight.get());
        // With 100 ms replies the three workers overlap; a serial client would never exceed one.
        assertTrue(server.maxInFlight.get() >= 2, "in flight " + server.maxInFlight.get());
    }

    @Test
    void cacheHitDoesNotCallTheServerAgain(@TempDir Path dir) {
        server.script("flaky", raw(200, "x", Map.of()), raw(200, "x", Map.of()), raw(200, "x", Map.of()));
        List<JudgeItem> items = List.of(item("one"), item("two"), item("one"), item("flaky"));
        try (JudgeCache cache = JudgeCache.open(dir.resolve("cache.sqlite"));
             CachedJudge judge = new CachedJudge(judge(2), cache)) {
            List<OptionalDouble> first = judge.score(items);
            assertEquals(NINEISH_SCORE, first.get(0).orElseThrow(), 1e-9);
            assertEquals(NINEISH_SCORE, first.get(2).orElseThrow(), 1e-9);
            assertTrue(first.get(3).isEmpty());
            // "one" is asked once although it appears twice; "flaky" used all its attempts.
            assertEquals(2 + MAX_ATTEMPTS, server.requests.get());
        }
        try (JudgeCache cache = JudgeCache.open(dir.resolve("cache.sqlite"));
             CachedJudge judge = new CachedJudge(judge(2), cache)) {
            List<OptionalDouble> again = judge.score(items);
            assertEquals(NINEISH_SCORE, again.get(1).orElseThrow(), 1e-9);
            // Only the unscored "flaky" is asked again (and now succeeds), after reopening the file.
            assertEquals(NINEISH_SCORE, again.get(3).orElseThrow(), 1e-9);
            assertEquals(2 + MAX_ATTEMPTS + 1, server.requests.get());
        }
    }

    @Test
    void configFromEnvironment() {
        OpenAiJudge.Config c = OpenAiJudge.Config.fromEnv("m", null, null,
                Map.of("OPENAI_BASE_URL", "http://localhost:8000/v1/", "OPENAI_API_KEY", "env-key"));
        assertEquals("http://localhost:8000/v1", c.baseUrl());
        assertEquals("env-key", c.apiKey());
        assertEquals(OpenAiJudge.Config.DEFAULT_CONCURRENCY, c.concurrency());

        c = OpenAiJudge.Config.fromEnv("m", "http://10.0.0.2:9000/v1", "flag-key",
                Map.of("OPENAI_BASE_URL", "http://localhost:8000/v1", "OPENAI_API_KEY", "env-key"));
        assertEquals("http://10.0.0.2:9000/v1", c.baseUrl());
        assertEquals("flag-key", c.apiKey());

        c = OpenAiJudge.Config.fromEnv("m", null, null, Map.of("OPENAI_API_KEY", "k"));
        assertEquals(OpenAiJudge.DEFAULT_BASE_URL, c.baseUrl());

        // A local server may need no key.
        c = OpenAiJudge.Config.fromEnv("m", "http://127.0.0.1:8000/v1", null, Map.of());
        assertEquals("", c.apiKey());
    }

    @Test
    void missingKeyForOpenAiNamesTheVariable() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> OpenAiJudge.Config.fromEnv("gpt-4o-mini", null, " ", Map.of()));
        assertTrue(e.getMessage().contains("OPENAI_API_KEY"), e.getMessage());
    }

    @Test
    void badBaseUrlAndSettingsAreNamed() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> OpenAiJudge.Config.fromEnv("m", "ftp://host/v1", "k", Map.of()));
        assertTrue(e.getMessage().contains("ftp://host/v1"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> OpenAiJudge.Config.fromEnv("m", null, null,
                Map.of("OPENAI_BASE_URL", "not a url", "OPENAI_API_KEY", "k")));
        assertTrue(e.getMessage().contains("not a url"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> OpenAiJudge.Config.fromEnv(" ", "http://h/v1", "k", Map.of()));
        assertTrue(e.getMessage().contains("model"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> new OpenAiJudge.Config("http://h/v1", "k", "m", 0, 3, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("concurrency 0"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> new OpenAiJudge.Config("http://h/v1", "k", "m", 1, 0, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("attempts 0"), e.getMessage());
    }

    @Test
    void idNamesTheModel() {
        try (OpenAiJudge judge = judge(1)) {
            assertEquals("openai:judge-model", judge.id());
        }
    }
}
