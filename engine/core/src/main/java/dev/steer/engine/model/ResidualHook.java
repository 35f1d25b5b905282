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
    /** Hooks nothing (the model may then fuse across layer boundaries). */
    ResidualHook NONE = new ResidualHook() {
        @Override
        public Tensor afterLayer(int layer, Tensor h, StepLayout layout) {
            return h;
        }

        @Override
        public boolean hooks(int layer) {
            return false;
        }
    };

    Tensor afterLayer(int layer, Tensor h, StepLayout layout);

    /**
     * Whether {@code layer} needs this hook at all; where it does not, the model may skip the call and fuse the
     * layer's last residual add with the norms around it. True by default.
     */
    default boolean hooks(int layer) {
        return true;
    }

    /**
     * The same point with the layer's last residual add left to the hook: the residual after the layer is
     * {@code h + update}, so a hook that steers or measures can fuse the add with its own work
     * ({@link Backend#addSteer}). Called inside the layer's scope, which closes right after (at decode steps the
     * step's scope, which outlives the forward): the model keeps the returned residual, and anything else the hook
     * needs later it keeps with {@code layerScope}. By default:
     * the add, then {@link #afterLayer(int, Tensor, StepLayout)}.
     */
    default Tensor afterLayer(int layer, Tensor h, Tensor update, StepLayout layout, Backend backend, Scope layerScope) {
        return afterLayer(layer, backend.add(h, update), layout);
    }
}
