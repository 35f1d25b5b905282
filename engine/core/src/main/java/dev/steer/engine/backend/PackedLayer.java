package dev.steer.engine.backend;

/**
 * The weights of one pre- and post-normed decoder layer with packed projections, as {@link Backend#decodeLayer} reads
 * them: {@code qkv} [(heads + 2 kvHeads) × D, H], {@code o} [H, heads × D], {@code gateUp} [2I, H] (gate rows then up
 * rows), {@code down} [H, I], and the three RMSNorm weights between them (each applied as {@code 1 + w}).
 */
public record PackedLayer(Tensor qkv, Tensor o, Tensor postAttnNorm, Tensor preFfnNorm, Tensor gateUp, Tensor down, Tensor postFfnNorm) {
}
