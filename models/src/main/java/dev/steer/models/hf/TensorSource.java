package dev.steer.models.hf;

import dev.steer.engine.tensor.HostTensor;

import java.util.Set;

/**
 * Named host tensors a model's weights are loaded from: a {@link Checkpoint} on disk, or generated weights for
 * benchmarks (a model family's random weights). Names are Hugging Face checkpoint names.
 */
public interface TensorSource {
    /** The tensor called {@code name}; a BadInputException naming it and the source if absent. */
    HostTensor tensor(String name);

    boolean has(String name);

    Set<String> names();
}
