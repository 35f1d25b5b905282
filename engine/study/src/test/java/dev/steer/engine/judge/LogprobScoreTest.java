package dev.steer.engine.judge;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogprobScoreTest {

    private static Map<String, Double> probs(Object... tokenAndP) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < tokenAndP.length; i += 2) {
            m.put((String) tokenAndP[i], Math.log((Double) tokenAndP[i + 1]));
        }
        return m;
    }

    private static double score(Map<String, Double> m) {
        OptionalDouble s = LogprobScore.of(m);
        assertTrue(s.isPresent(), "expected a score for " + m);
        return s.getAsDouble();
    }

    @Test
    void weightsNumericTokensByProbabilityAndRenormalises() {
        // (0.5·7 + 0.3·8) / (0.5 + 0.3) = 5.9 / 0.8 = 7.375; "The" carries mass but no number.
        assertEquals(7.375, score(probs("7", 0.5, " 8", 0.3, "The", 0.2)), 1e-12);
    }

    @Test
    void tokensThatTrimToTheSameNumberBothVote() {
        // 0.2·10 + 0.2·10 + 0.1·40 = 8 over mass 0.5 → 16.
        assertEquals(16.0, score(probs("10", 0.2, " 10", 0.2, "40\n", 0.1, "x", 0.5)), 1e-12);
    }

    @Test
    void endpointsZeroAndHundredCount() {
        assertEquals(50.0, score(probs("0", 0.5, "100", 0.5)), 1e-12);
    }

    @Test
    void nonIntegersAndOutOfRangeTokensAreIgnored() {
        // Only "50" (p 0.3) qualifies: 101 is out of range; signs, decimals and exponents are not integers 0..100.
        Map<String, Double> m = probs("101", 0.3, "-5", 0.1, "+5", 0.1, "5.0", 0.1, "1e2", 0.05, "50", 0.3);
        assertEquals(50.0, score(m), 1e-12);
    }

    @Test
    void belowQuarterOfTheMassIsUnscoredNotZero() {
        assertTrue(LogprobScore.of(probs("90", 0.24, "Sorry", 0.76)).isEmpty());
        assertEquals(90.0, score(probs("90", 0.26, "Sorry", 0.74)), 1e-12);
        // Mass split over several numbers adds up: 0.15 + 0.15 = 0.3 ≥ 0.25, (0.15·20 + 0.15·60)/0.3 = 40.
        assertEquals(40.0, score(probs("20", 0.15, "60", 0.15, "I", 0.7)), 1e-12);
        assertTrue(LogprobScore.of(Map.of()).isEmpty());
    }

    @Test
    void parsesOnlyPlainDigitStrings() {
        assertEquals(7, LogprobScore.parseScore("007"));
        assertEquals(42, LogprobScore.parseScore(" 42\n"));
        assertEquals(100, LogprobScore.parseScore("100"));
        assertEquals(-1, LogprobScore.parseScore("0100"));
        assertEquals(-1, LogprobScore.parseScore("1_0"));
        assertEquals(-1, LogprobScore.parseScore("\u0663"));
        assertEquals(-1, LogprobScore.parseScore(""));
    }
}
