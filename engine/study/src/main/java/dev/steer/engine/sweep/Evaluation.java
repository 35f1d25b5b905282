package dev.steer.engine.sweep;

import dev.steer.engine.store.ResponseRecord;

import java.util.List;

/**
 * A candidate's answers, judged. Means are over scored answers only (an unscored answer is left out, never 0); null
 * when none was scored.
 *
 * @param activationNorm  the law's ‖h‖ at the steered layer, measured live in the run: the mean over every row's
 *                        prompt tokens (BOS excluded, token-pooled) before the add; null for the baseline
 * @param ratio           {@code |coef| × ‖v‖ / activationNorm} ({@link dev.steer.engine.law.PerturbationRatio}); null
 *                        for the baseline or when the norm is not positive
 * @param steeredNormMean the mean over the run's rows of each row's mean ‖h‖ over its steered positions (response
 *                        included); null for the baseline
 * @param steeredRatio    {@code |coef| × ‖v‖ / steeredNormMean}
 * @param tokens         answer tokens generated, over all questions
 */
public record Evaluation(Candidate candidate, List<ResponseRecord> responses, Double traitMean, Double coherenceMean,
                         Double activationNorm, Double ratio,
                         Double steeredNormMean, Double steeredRatio, long tokens) {
    public Evaluation {
        responses = List.copyOf(responses);
    }
}
