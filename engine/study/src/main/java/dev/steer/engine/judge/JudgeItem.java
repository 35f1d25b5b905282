package dev.steer.engine.judge;

import java.util.Objects;

/**
 * One answer to score.
 *
 * @param prompt   the fully rendered judge prompt (template filled with question, answer and, for a trait judge,
 *                 the trait definition); LLM judges send exactly this text and the cache keys on it
 * @param question the question the steered model was asked
 * @param answer   the steered model's answer; classifier judges score this text alone
 */
public record JudgeItem(String prompt, String question, String answer) {
    public JudgeItem {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
    }
}
