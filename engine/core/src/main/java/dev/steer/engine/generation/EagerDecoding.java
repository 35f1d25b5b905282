package dev.steer.engine.generation;

import java.util.function.IntConsumer;

/** Each step waits for the last one's tokens, then feeds them: the plain loop, on every backend. */
final class EagerDecoding implements DecodeStrategy {
    @Override
    public Outcome run(RunningBatch batch, IntConsumer progress) {
        if (!batch.take(batch.prefillTokens(), progress)) return new Outcome(0, 0);
        int steps = 0;
        boolean live = true;
        while (live) {
            live = batch.step(progress);
            steps++;
        }
        return new Outcome(steps, 0);
    }
}
