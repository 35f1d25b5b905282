package dev.steer.engine.model;

import dev.steer.engine.BadInputException;

/**
 * A named place in the model where a hook reads or changes activations. One vocabulary for the CLI, the results
 * store and reports, as TransformerLens names them: {@code blocks.12.hook_resid_post} is the residual stream
 * after layer 12 (attention and MLP both added), where steering adds {@code coef × v} and telemetry reads ‖h‖.
 */
public record HookPoint(int layer) {
    public static HookPoint residPost(int layer) {
        return new HookPoint(layer);
    }

    public String name() {
        return "blocks." + layer + ".hook_resid_post";
    }

    public void checkIn(ModelDims dims, String what) {
        if (layer < 0 || layer >= dims.layers())
            throw new BadInputException(what + ": layer " + layer + " is out of range; the model has layers 0-" + (dims.layers() - 1));
    }

    @Override
    public String toString() {
        return name();
    }
}
