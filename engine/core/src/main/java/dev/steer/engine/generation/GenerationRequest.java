package dev.steer.engine.generation;

import dev.steer.engine.steering.SteeringSpec;

import java.util.List;

/** One row of a batch: prompt token ids (BOS included when the model wants it) and that row's steering. */
public record GenerationRequest(int[] promptIds, List<SteeringSpec> steering) {
    public GenerationRequest {
        if (promptIds.length == 0) throw new IllegalArgumentException("empty prompt");
        steering = List.copyOf(steering);
    }

    public static GenerationRequest plain(int[] promptIds) {
        return new GenerationRequest(promptIds, List.of());
    }
}
