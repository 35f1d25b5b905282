package dev.steer.engine.judge;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The host-side math of the self and perplexity judges. */
class ModelJudgeMathTest {
    @Test
    void topLogprobsKeepsTheKLargestWithLowerIdsFirstOnTiesAndMergesEqualText() {
        float[] logits = {0f, 3f, 1f, 3f, 2f, -1f};
        double logZ = Math.log(Math.exp(0) + 2 * Math.exp(3) + Math.exp(1) + Math.exp(2) + Math.exp(-1));
        Map<String, Double> top = SelfJudge.topLogprobs(logits, 3, id -> "t" + id);
        assertEquals(List.of("t1", "t3", "t4"), List.copyOf(top.keySet()));
        assertEquals(3 - logZ, top.get("t1"), 1e-12);
        assertEquals(2 - logZ, top.get("t4"), 1e-12);
        // ids 1 and 4 both decode to "7": their probabilities add.
        Map<String, Double> merged = SelfJudge.topLogprobs(logits, 3, id -> id == 1 || id == 4 ? "7" : "x" + id);
        assertEquals(Math.log(Math.exp(3) + Math.exp(2)) - logZ, merged.get("7"), 1e-12);
        assertEquals(2, merged.size());
    }

    @Test
    void perplexityMappingIsLinearInLogLikelihoodAndClamped() {
        assertEquals(100, PerplexityJudge.score(0), 0);
        assertEquals(70, PerplexityJudge.score(-3), 1e-12);
        assertEquals(50, PerplexityJudge.score(-5), 1e-12);
        assertEquals(0, PerplexityJudge.score(-12.45), 0);
    }

    @Test
    void logSoftmaxAtAnOffset() {
        float[] logits = {9f, 9f, 1f, 2f, 3f};
        double logZ = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
        assertEquals(2 - logZ, PerplexityJudge.logSoftmaxAt(logits, 2, 3, 1), 1e-12);
    }
}
