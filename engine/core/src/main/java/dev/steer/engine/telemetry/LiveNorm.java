package dev.steer.engine.telemetry;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.steering.BatchSteering;
import dev.steer.engine.steering.SteeringSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The ‖h‖ of the ratio law, measured live: mean L2 norm of the unsteered residual at blocks.L.hook_resid_post
 * over every prompt token except a leading BOS (padding never counted), pooled over all prompts so each token
 * weighs the same. Measured by the same hook as generation telemetry ({@link BatchSteering}), so a ratio
 * computed from it is the ratio a steered run over these prompts reports for its prompt positions.
 *
 * @param tokens how many tokens the mean is over
 */
public record LiveNorm(int layer, double mean, long tokens) {
    public static final int DEFAULT_BATCH = 16;

    public static LiveNorm measure(CausalLm lm, List<int[]> prompts, int layer) {
        return measure(lm, prompts, layer, DEFAULT_BATCH);
    }

    /** {@code BadInputException} naming {@code --layer} when the layer is out of range. */
    public static LiveNorm measure(CausalLm lm, List<int[]> prompts, int layer, int batchSize) {
        HookPoint.residPost(layer).checkIn(lm.dims(), "--layer");
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to measure");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
        Backend b = lm.backend();
        double sum = 0;
        long tokens = 0;
        for (int from = 0; from < prompts.size(); from += batchSize) {
            PaddedPrompts padded = PaddedPrompts.of(prompts.subList(from, Math.min(prompts.size(), from + batchSize)), lm.dims().padId());
            int[] first = new int[padded.batch()];
            for (int r = 0; r < first.length; r++) first[r] = padded.firstToken(r);
            List<List<SteeringSpec>> none = new ArrayList<>(Collections.nCopies(padded.batch(), List.of()));
            BatchSteering hook = new BatchSteering(b, lm.dims(), none, new int[] {layer}, first);
            try (KvCache cache = lm.newCache(padded.batch(), padded.length()); Scope s = b.openScope()) {
                hook.upload();
                lm.forward(padded.upload(b), padded.layout(), cache, hook, false);
                hook.collect();
            }
            for (int r = 0; r < padded.batch(); r++) {
                HookTelemetry t = hook.telemetry(r).get(0);
                if (t.promptCount() == 0) continue;
                sum += t.promptNormMean() * t.promptCount();
                tokens += t.promptCount();
            }
        }
        return new LiveNorm(layer, tokens == 0 ? Double.NaN : sum / tokens, tokens);
    }
}
