package dev.steer.engine.model;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;

/** A decoder-only language model bound to a backend, its weights uploaded. */
public interface CausalLm extends AutoCloseable {
    ModelDims dims();

    Backend backend();

    KvCache newCache(int batch, int capacity);

    /**
     * Runs one step: ids [B, T] (int tensor) appended after {@code cache.length()} cached slots, as
     * {@code layout} describes; calls {@code hook} after every layer; advances the cache. Returns logits
     * (soft-capped as the model does) [B, V] of the last step, or [B, T, V] when {@code allSteps}.
     */
    Tensor forward(Tensor ids, StepLayout layout, KvCache cache, ResidualHook hook, boolean allSteps);

    @Override
    void close();
}
