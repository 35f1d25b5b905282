package dev.steer.engine.backend;

/**
 * The fixed shape of one attention layer: {@code heads} query heads of {@code headDim}, {@code kvHeads} key/value
 * heads (query head i reads kv head {@code i / (heads / kvHeads)}), scores multiplied by {@code scale}, then
 * soft-capped as {@code tanh(s / softcap) * softcap} when {@code softcap > 0}, then masked causally and, when
 * {@code window > 0}, also where {@code pos_q - pos_k >= window}; softmax in float32.
 */
public record AttentionSpec(int heads, int kvHeads, int headDim, float scale, float softcap, int window) {
    public AttentionSpec {
        if (heads % kvHeads != 0) throw new IllegalArgumentException("heads " + heads + " not a multiple of kv heads " + kvHeads);
    }
}
