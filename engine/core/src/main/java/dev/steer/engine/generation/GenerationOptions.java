package dev.steer.engine.generation;

import dev.steer.engine.BadInputException;

/**
 * How to generate. Temperature 0 is greedy (ties: lowest token id). With temperature > 0 every row samples from
 * its own generator seeded with {@code seed}, so a prompt gives the same tokens alone or in any batch.
 * {@code measureLayers}: extra hook points whose norms are recorded for every row even when nothing steers there.
 */
public record GenerationOptions(int maxNewTokens, double temperature, double topP, long seed, boolean stopAtEos,
                                int[] measureLayers, boolean keepPromptLogits) {
    public GenerationOptions {
        if (maxNewTokens < 1) throw new BadInputException("--max-new-tokens: must be at least 1, was " + maxNewTokens);
        if (!(temperature >= 0) || Double.isInfinite(temperature))
            throw new BadInputException("--temperature: must be a finite number >= 0, was " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new BadInputException("--top-p: must be in (0, 1], was " + topP);
        measureLayers = measureLayers == null ? new int[0] : measureLayers.clone();
    }

    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, 0, 1, 0, true, null, false);
    }

    public GenerationOptions withPromptLogits() {
        return new GenerationOptions(maxNewTokens, temperature, topP, seed, stopAtEos, measureLayers, true);
    }

    public GenerationOptions measuring(int... layers) {
        return new GenerationOptions(maxNewTokens, temperature, topP, seed, stopAtEos, layers, keepPromptLogits);
    }
}
