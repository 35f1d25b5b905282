package dev.steer.engine.model;

import dev.steer.engine.BadInputException;

/**
 * The sizes generation and steering need to know about a causal language model.
 *
 * @param maxPositions positions a row may reach, prompt and answer together (config.json's
 *                     {@code max_position_embeddings}); {@link Integer#MAX_VALUE} for a model without a limit
 */
public record ModelDims(String architecture, int layers, int hidden, int vocab, int bosId, int padId, int[] eosIds,
                        int maxPositions) {
    /** A model without a position limit (test doubles). */
    public ModelDims(String architecture, int layers, int hidden, int vocab, int bosId, int padId, int[] eosIds) {
        this(architecture, layers, hidden, vocab, bosId, padId, eosIds, Integer.MAX_VALUE);
    }

    public boolean isEos(int id) {
        for (int e : eosIds) if (e == id) return true;
        return false;
    }

    /**
     * The one context check every generating path goes through ({@code RunningBatch}'s prefill and join): a row's
     * prompt and its {@code maxNewTokens} must fit the model's positions (0 new tokens: a prompt-only pass, as
     * {@code PromptNorms} makes). Past them RoPE extrapolates to positions
     * the model never saw and the KV cache grows without a bound, so it is refused up front rather than run.
     */
    public void checkContext(int promptTokens, int maxNewTokens) {
        if (maxNewTokens == 0 && promptTokens > maxPositions) {
            throw new BadInputException("prompt of " + promptTokens + " tokens exceeds the model's max_position_embeddings ("
                    + maxPositions + ")");
        }
        if ((long) promptTokens + maxNewTokens > maxPositions) {
            throw new BadInputException("prompt of " + promptTokens + " tokens + max_new_tokens " + maxNewTokens + " = "
                    + ((long) promptTokens + maxNewTokens) + " positions exceeds the model's max_position_embeddings ("
                    + maxPositions + ")" + (promptTokens >= maxPositions ? "" : ": lower max_new_tokens to at most "
                    + (maxPositions - promptTokens) + " or shorten the prompt"));
        }
    }
}
