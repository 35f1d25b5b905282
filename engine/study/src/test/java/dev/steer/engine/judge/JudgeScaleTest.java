package dev.steer.engine.judge;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.steer.engine.judge.ScriptedChatServer.completion;
import static dev.steer.engine.judge.ScriptedChatServer.nineish;
import static dev.steer.engine.judge.ScriptedChatServer.raw;
import static dev.steer.engine.judge.ScriptedChatServer.slow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The openai judge's scale and its failure costs: a server whose tokenizer splits numbers (top tokens only single
 * digits), logprobs that are no probabilities, and a judge that hangs.
 */
@Timeout(60)
class JudgeScaleTest {
    private ScriptedChatServer server;
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new ScriptedChatServer(nineish());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private OpenAiJudge judge(int concurrency, int attempts, Duration timeout) {
        return new OpenAiJudge(new OpenAiJudge.Config(server.baseUrl(), "sk-test", "gemma", concurrency, attempts, timeout,
                Duration.ofMillis(10)), warnings::add);
    }

    private static JudgeItem item(String prompt) {
        return new JudgeItem(prompt, "q", "a");
    }

    /** A full top 20 as a Gemma server gives it for "85": first digits only, then word pieces. */
    private static Map<String, Double> gemmaTop20() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("8", 0.6);
        m.put("9", 0.2);
        m.put("7", 0.1);
        String[] rest = {"The", " ", "**", "\n", "I", "A", "This", "Score", "<", "-", "Rating", "It", "Based", "My", "We", "Answer", "On"};
        for (String t : rest) m.put(t, 0.1 / rest.length);
        return m;
    }

    private static ScriptedChatServer.Reply writes(String content) {
        return raw(200, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content
                + "\"},\"finish_reason\":\"stop\"}]}", Map.of());
    }

    @Test
    void aJudgeWhoseTopTokensAreSingleDigitsIsScoredByTheNumberItWritesAndSaysSoOnce() {
        server.script("a", completion(gemmaTop20()), writes("85"));
        server.script("b", completion(gemmaTop20()), writes(" 100\\n"));
        server.script("c", completion(gemmaTop20()), writes("Eighty"));
        List<OptionalDouble> s;
        try (OpenAiJudge judge = judge(1, 3, Duration.ofSeconds(5))) {
            s = judge.score(List.of(item("a"), item("b"), item("c")));
            assertTrue(judge.lastProblem().orElseThrow().contains("no number"), judge.lastProblem().toString());
        }
        // The one-token rule would say (0.6·8 + 0.2·9 + 0.1·7) / 0.9 = 8.1 on what is a 0-100 scale.
        assertEquals(85.0, s.get(0).getAsDouble(), 1e-12);
        assertEquals(100.0, s.get(1).getAsDouble(), 1e-12);
        assertTrue(s.get(2).isEmpty(), "no number written: unscored, not zero");
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("only single digits") && warnings.get(0).contains(server.baseUrl()), warnings.get(0));
        assertEquals(6, server.requests.get());
        // The second request asks for the written answer: a few tokens, no logprobs.
        assertEquals(ChatCompletions.WRITTEN_TOKENS, server.bodies.get(1).get("max_tokens").getAsInt());
        assertFalse(server.bodies.get(1).has("logprobs"));
    }

    @Test
    void aShortListOfSingleDigitsIsStillTheOneTokenRule() {
        // Three alternatives say nothing about the vocabulary (the existing single-digit fixtures of other tests).
        try (OpenAiJudge judge = judge(1, 3, Duration.ofSeconds(5))) {
            assertEquals(ScriptedChatServer.NINEISH_SCORE, judge.score(List.of(item("p"))).get(0).getAsDouble(), 1e-9);
        }
        assertEquals(1, server.requests.get());
        assertTrue(warnings.isEmpty());
    }

    @Test
    void anOverflowingLogprobLeavesTheAnswerUnscoredNeverNaN() {
        String overflow = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"9\"},\"logprobs\":{\"content\":"
                + "[{\"token\":\"9\",\"logprob\":1e400,\"top_logprobs\":[{\"token\":\"9\",\"logprob\":1e400},{\"token\":\"8\",\"logprob\":-1.2}]}]}}]}";
        String positive = overflow.replace("1e400", "800");
        server.script("inf", raw(200, overflow, Map.of()), raw(200, overflow, Map.of()));
        server.script("big", raw(200, positive, Map.of()), raw(200, positive, Map.of()));
        try (OpenAiJudge judge = judge(1, 2, Duration.ofSeconds(5))) {
            List<OptionalDouble> s = judge.score(List.of(item("inf"), item("big")));
            assertTrue(s.get(0).isEmpty(), "an infinite logprob must not give a score: " + s.get(0));
            assertTrue(s.get(1).isEmpty(), "a logprob of 800 is no probability: " + s.get(1));
            assertTrue(judge.lastProblem().orElseThrow().contains("not a log probability"), judge.lastProblem().toString());
        }
    }

    @Test
    void aHungJudgeCostsOneTimeoutPerAnswerOnceItTimedOutOnEveryAttempt() {
        server.fallback = slow(5_000, nineish());
        List<JudgeItem> items = new ArrayList<>();
        for (int i = 0; i < 4; i++) items.add(item("q" + i));
        try (OpenAiJudge judge = judge(1, 3, Duration.ofMillis(1_000))) {
            List<OptionalDouble> s = judge.score(items);
            s.forEach(x -> assertTrue(x.isEmpty()));
            assertTrue(judge.lastProblem().orElseThrow().contains("no response within 1 s"), judge.lastProblem().toString());
        }
        // 3 attempts for the first answer, then one each for the other three (not 3 x 4 = 12).
        assertEquals(3 + 3, server.requests.get());
    }

    @Test
    void aJudgeThatAnswersAgainGetsEveryAttemptBack() {
        server.script("q0", slow(5_000, nineish()), slow(5_000, nineish()));
        server.script("q1", slow(5_000, nineish()));
        try (OpenAiJudge judge = judge(1, 2, Duration.ofMillis(1_000))) {
            List<OptionalDouble> s = judge.score(List.of(item("q0"), item("q1"), item("q2"), item("q3")));
            assertTrue(s.get(0).isEmpty());
            assertTrue(s.get(1).isEmpty(), "hung: one try");
            // q2 answered (the judge is back), so q3 would get both attempts again; both score.
            assertEquals(ScriptedChatServer.NINEISH_SCORE, s.get(2).getAsDouble(), 1e-9);
            assertEquals(ScriptedChatServer.NINEISH_SCORE, s.get(3).getAsDouble(), 1e-9);
        }
        assertEquals(2 + 1 + 1 + 1, server.requests.get());
    }

    @Test
    void logprobScoreNeverReturnsNaN() {
        assertTrue(LogprobScore.of(Map.of("9", Double.POSITIVE_INFINITY)).isEmpty());
        assertTrue(LogprobScore.of(Map.of("9", Double.NaN, "8", -0.1)).isEmpty());
        assertTrue(LogprobScore.of(Map.of("9", 700.0)).isEmpty());
        assertEquals(9.0, LogprobScore.of(Map.of("9", 0.0, "8", Double.NEGATIVE_INFINITY)).getAsDouble(), 1e-12);
    }
}
