package dev.steer.engine.model;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.Scope;
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

    /**
     * The same point with the layer's last residual add left to the hook: the residual after the layer is
     * {@code h + update}, so a hook that steers or measures can fuse the add with its own work
     * ({@link Backend#addSteer}). Called inside the layer's scope, which closes right after: the model keeps the
     * returned residual, and anything else the hook needs later it keeps with {@code layerScope}. By default:
     * the add, then {@link #afterLayer(int, Tensor, StepLayout)}.
     */
    default Tensor afterLayer(int layer, Tensor h, Tensor update, StepLayout layout, Backend backend, Scope layerScope) {
        return afterLayer(layer, backend.add(h, update), layout);
    }
}
