package dev.steer.engine.store;

/**
 * One generated answer of a run. Scores are 0-100 judge scores; null means unscored (the judge gave no score,
 * e.g. its probability mass on integer tokens was below 0.25), which is not the same as 0.
 *
 * @param idx position of the question in the run's question list, from 0
 */
public record ResponseRecord(int idx, String question, String answer, Double traitScore, Double coherenceScore) {
}
