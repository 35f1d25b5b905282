package dev.steer.engine.trait;

/**
 * Two complete texts ({@code "Question: ...\nAnswer: ..."}) with the same question whose answers differ only in the
 * trait: {@code positive} shows it, {@code negative} shows its opposite. Averaged over many pairs, the difference of
 * their activations cancels the shared content and leaves the trait direction (mean_diff extraction).
 */
public record ContrastPair(String question, String positive, String negative) {
}
