package dev.steer.engine.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Builds stored-run fixtures for the store tests and the kill -9 child. */
final class StoredRuns {
    private StoredRuns() {
    }

    static ModelRecord model() {
        return new ModelRecord(0, "/models/tiny-gemma2", "Gemma2ForCausalLM", 4, 64, "fp-tiny");
    }

    static VectorRecord vector(long modelId, int layer) {
        return new VectorRecord(0, modelId, "refusal", layer, "mean_diff", "response", 2.5, "v" + layer + ".json",
                "sha-v" + layer);
    }

    /** A sweep run at {@code coef} on layer 2; trait 60 vs baseline 40, coherence 75, norms 2.5 and 10. */
    static RunRecord sweep(long modelId, long vectorId, double coef, int n) {
        String key = new RunConfig("fp-tiny", "sha-v2", "refusal", 2, coef, "all", "tj", "cj", "qh", 32, 1, 0.0, false, "th", "cpu:default").key();
        return new RunRecord(0, key, modelId, vectorId, "refusal", 2, "mean_diff", coef, "all", "tj", "cj", 32, 1,
                0.0, n, 60.0, 75.0, 40.0, 20.0, 2.5, 10.0, 10.0, coef * 2.5 / 10.0, RunKind.SWEEP, null,
                Instant.parse("2025-01-02T03:04:05.123456789Z"), RunStatus.COMPLETE);
    }

    static List<ResponseRecord> responses(int n, int answerChars) {
        List<ResponseRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(new ResponseRecord(i, "question " + i, ("answer " + i + " ").repeat(answerChars / 10 + 1),
                    i % 3 == 0 ? null : 50.0 + i, i % 5 == 0 ? null : 80.0 - i));
        return out;
    }

    /** {@code n} responses with both scores (trait 50+i, coherence 80-i): a final run. */
    static List<ResponseRecord> scoredResponses(int n) {
        List<ResponseRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new ResponseRecord(i, "question " + i, "answer " + i, 50.0 + i, 80.0 - i));
        return out;
    }
}
