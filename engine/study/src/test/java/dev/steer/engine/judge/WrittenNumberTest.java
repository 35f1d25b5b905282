package dev.steer.engine.judge;

import dev.steer.engine.judge.WrittenNumber.Candidate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The digit-tree arithmetic of {@link WrittenNumber}, by hand. */
class WrittenNumberTest {
    private static List<Candidate> top(Object... idTextP) {
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < idTextP.length; i += 3)
            out.add(new Candidate((Integer) idTextP[i], (String) idTextP[i + 1], Math.log((Double) idTextP[i + 2])));
        return out;
    }

    @Test
    void singleDigitTokensAreFollowedToTheEndOfTheNumber() {
        // First token: "8" 0.6, " 9" 0.3 (leading space allowed at the start), "The" 0.1.
        WrittenNumber n = new WrittenNumber(top(8, "8", 0.6, 9, " 9", 0.3, 50, "The", 0.1));
        List<WrittenNumber.Prefix> p = n.takePending();
        assertEquals(2, p.size());
        assertEquals("8", p.get(0).digits());
        assertArrayEquals(new int[] {8}, p.get(0).ids());
        // After "8": "5" 0.5, "." 0.25 (ends at 8), " 5" 0.25 (a space ends the number: 8).
        n.expand(p.get(0), top(5, "5", 0.5, 60, ".", 0.25, 61, " 5", 0.25));
        // After "9": "0\n" 0.9 (digits, then the end inside one token: 90) and nothing else among the top: 0.1 ends at 9.
        n.expand(p.get(1), top(0, "0\n", 0.9));
        assertTrue(n.takePending().isEmpty(), "85 and 90 cannot grow into a score");
        double mass = 0.6 * 0.5 + 0.6 * 0.5 + 0.3 * 0.9 + 0.3 * 0.1;
        double expected = (0.3 * 85 + 0.3 * 8 + 0.27 * 90 + 0.03 * 9) / mass;
        assertEquals(expected, n.score().getAsDouble(), 1e-9);
    }

    @Test
    void tenGrowsIntoHundredAndNothingElseGrowsPastIt() {
        WrittenNumber n = new WrittenNumber(top(1, "1", 1.0));
        WrittenNumber.Prefix one = n.takePending().get(0);
        n.expand(one, top(0, "0", 1.0));
        WrittenNumber.Prefix ten = n.takePending().get(0);
        assertEquals("10", ten.digits());
        n.expand(ten, top(0, "0", 0.75, 7, "\n", 0.25));
        assertTrue(n.takePending().isEmpty());
        assertEquals(0.75 * 100 + 0.25 * 10, n.score().getAsDouble(), 1e-9);
    }

    @Test
    void leadingZerosAndNumbersOver100AreNoScore() {
        // "0" cannot grow (no "05"), "100" in one token cannot either, "250" is over 100, "05" has a leading zero.
        WrittenNumber n = new WrittenNumber(top(0, "0", 0.4, 1, "100", 0.4, 2, "250", 0.1, 3, "05", 0.1));
        assertTrue(n.takePending().isEmpty());
        assertEquals(50.0, n.score().getAsDouble(), 1e-9);
    }

    @Test
    void multiDigitVocabulariesNeedNoExtraStepExceptAfterTen() {
        WrittenNumber n = new WrittenNumber(top(85, "85", 0.5, 70, " 70", 0.3, 10, "10", 0.2));
        List<WrittenNumber.Prefix> p = n.takePending();
        assertEquals(1, p.size(), "only 10 can still become 100");
        n.expand(p.get(0), top(0, "0", 0.5, 9, "/", 0.5));
        assertEquals(0.5 * 85 + 0.3 * 70 + 0.1 * 100 + 0.1 * 10, n.score().getAsDouble(), 1e-9);
    }

    @Test
    void unlikelyPrefixesAreNotExpandedAndTooLittleNumberMassIsNoScore() {
        WrittenNumber n = new WrittenNumber(top(4, "4", 0.004, 50, "The", 0.996));
        assertTrue(n.takePending().isEmpty(), "below EXPAND_MIN");
        assertTrue(n.score().isEmpty());
        WrittenNumber refusal = new WrittenNumber(top(4, "4", 0.2, 50, "I", 0.8));
        refusal.expand(refusal.takePending().get(0), top(60, "\n", 1.0));
        assertTrue(refusal.score().isEmpty(), "0.2 < MIN_NUMERIC_MASS");
    }

    @Test
    void aNaNOrOverflowingLogprobIsNoScore() {
        WrittenNumber nan = new WrittenNumber(List.of(new Candidate(8, "8", Double.NaN), new Candidate(9, "9", -0.1)));
        assertTrue(nan.score().isEmpty());
        WrittenNumber inf = new WrittenNumber(top(8, "8", 1.0));
        inf.expand(inf.takePending().get(0), List.of(new Candidate(5, "5", Double.POSITIVE_INFINITY)));
        assertTrue(inf.score().isEmpty());
    }
}
