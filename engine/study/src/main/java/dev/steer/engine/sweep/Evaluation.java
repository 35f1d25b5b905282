package dev.steer.engine.sweep;

import dev.steer.engine.store.ResponseRecord;

import java.util.List;

/**
 * A candidate's answers, judged. Means are over scored answers only (an unscored answer is left out, never 0); null
 * when none was scored.
 *
 * @param activationNorm live ‖h‖ at the steered layer: the mean over the run's rows of each row's mean ‖h‖ before
 *                       the add over its steered positions (BOS excluded); null for the baseline
 * @param liveRatio      {@code coef × ‖v‖ / activationNorm}, signed like coef; null for the baseline
 * @param tokens         answer tokens generated, over all questions
 */
public record Evaluation(Candidate candidate, List<ResponseRecord> responses, Double traitMean, Double coherenceMean,
                         Double activationNorm, Double liveRatio, long tokens) {
    public Evaluation {
        responses = List.copyOf(responses);
    }
}
