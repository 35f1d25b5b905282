package dev.steer.engine.model;

import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;

/**
 * Called by a model's forward with the residual stream after every layer ({@link HookPoint#residPost}); returns
 * the residual the forward continues with ({@code h} itself when it changes nothing).
 */
@FunctionalInterface
public interface ResidualHook {
    ResidualHook NONE = (layer, h, layout) -> h;

    Tensor afterLayer(int layer, Tensor h, StepLayout layout);
}
