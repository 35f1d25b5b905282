package dev.steer.engine.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.Tensor;

import java.util.function.IntConsumer;

/**
 * On a backend that replays a recorded step ({@link Backend#recordsAhead}), the Java forward of step n + 1 runs while
 * the device computes step n; its token ids are set once step n's tokens are back, just before it ends (and its graph
 * is launched); tokens and telemetry come back through queued copies. Same tokens and telemetry as
 * {@link EagerDecoding}; when every row stops at an EOS, one step recorded ahead runs for nothing. Where the backend
 * does not record ahead, each step is eager. Why it is the default: BENCHMARKS.md, device run 6.
 */
final class LookaheadDecoding implements DecodeStrategy {
    @Override
    public Outcome run(RunningBatch batch, IntConsumer progress) {
        Backend b = batch.backend();
        // The last launched step's tokens and telemetry, not yet read back (the prefill's are).
        Pending<int[]> tokens = Pending.of(batch.prefillTokens());
        Runnable telemetry = () -> { };
        int decodeSteps = 0, lookaheadSteps = 0;
        while (true) {
            boolean ahead = b.recordsAhead(batch.cache()) && !batch.lastStepForSure();
            if (!ahead) {
                telemetry.run();
                if (!batch.take(tokens.get(), progress)) break;
            }
            boolean wasted = false;
            try (Scope step = b.openScope()) {
                Tensor logits;
                b.beginRepeatedStep(batch.cache());
                try {
                    int rows = batch.decodeLayout().batch();
                    Tensor ids = ahead ? b.intsLater(rows, 1) : b.ints(batch.feed(), rows, 1);
                    logits = batch.forward(ids, batch.decodeLayout());
                    if (ahead) {
                        telemetry.run();
                        wasted = !batch.take(tokens.get(), progress);
                        b.setInts(ids, batch.feed());
                    }
                } finally {
                    b.endRepeatedStep();
                }
                telemetry = batch.hook().collectLater();
                tokens = batch.chooseLater(logits);
            }
            if (ahead) lookaheadSteps++;
            if (wasted) {
                // every row stopped (EOS) after the step recorded ahead: it ran for nothing; wait for it so the
                // timing includes it, and drop its telemetry (no row is counted)
                telemetry.run();
                tokens.get();
                break;
            }
            decodeSteps++;
        }
        return new Outcome(decodeSteps, lookaheadSteps);
    }
}
