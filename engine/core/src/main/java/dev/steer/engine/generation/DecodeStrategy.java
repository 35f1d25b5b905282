package dev.steer.engine.generation;

import java.util.function.IntConsumer;

/** How a batch is decoded after its prefill, step by step until no row is left. */
interface DecodeStrategy {
    /** Decodes {@code batch} to the end; returns the steps run (a look-ahead step that ran for nothing not counted). */
    Outcome run(RunningBatch batch, IntConsumer progress);

    /** @param lookaheadSteps steps recorded while the device still ran the previous one (one wasted included) */
    record Outcome(int decodeSteps, int lookaheadSteps) {
    }
}
