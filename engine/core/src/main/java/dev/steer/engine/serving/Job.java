package dev.steer.engine.serving;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;

import java.util.List;

/**
 * One request to the {@link Scheduler}: prompt token ids (BOS and chat template applied), its steering by coef and by
 * ratio, and its own limits and sampling ({@code options}: maxNewTokens, temperature, topP, seed, stopAtEos).
 */
public record Job(int[] promptIds, List<SteeringSpec> steering, List<RatioSpec> ratios, GenerationOptions options) {
    public Job {
        if (promptIds.length == 0) throw new IllegalArgumentException("empty prompt");
        steering = List.copyOf(steering);
        ratios = List.copyOf(ratios);
    }
}
