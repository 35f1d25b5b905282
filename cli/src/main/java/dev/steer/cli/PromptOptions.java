package dev.steer.cli;

import dev.steer.engine.BadInputException;
import picocli.CommandLine.Option;

/** {@code --chat} and {@code --batch-size} of the commands that run a prompt set through the model (extract, ratio). */
final class PromptOptions {
    @Option(names = "--chat", description = "Wrap each prompt as one user turn with the model's chat template.")
    boolean chat;

    @Option(names = "--batch-size", defaultValue = "16", paramLabel = "N", description = "Prompts per forward pass. Default: ${DEFAULT-VALUE}.")
    private int batchSize;

    /** {@code --batch-size}, checked: bad input when below 1. */
    int batchSize() {
        if (batchSize < 1) throw new BadInputException("--batch-size: must be at least 1, was " + batchSize);
        return batchSize;
    }
}
