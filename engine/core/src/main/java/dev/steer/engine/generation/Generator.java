package dev.steer.engine.generation;

import dev.steer.engine.model.CausalLm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Batched generation: prompts are left-padded into one batch (positions counted per row from its first real
 * token), prefilled in one step, then decoded one token per step with a KV cache ({@link RunningBatch}). Each row
 * may carry its own steering; telemetry is measured live at every hooked layer. A row stops at its EOS; the batch
 * stops when every row has stopped or produced {@code maxNewTokens}.
 *
 * <p>Decoding is look-ahead by default ({@link LookaheadDecoding}; eager where the backend does not record steps
 * ahead). The setting is read once, when the generator is made: {@code STEER_LOOKAHEAD=0}, or the system property
 * {@code steer.lookahead=0}, makes every step eager ({@link EagerDecoding}).
 */
public final class Generator {
    private final CausalLm model;
    private final DecodeStrategy decoding;
    private GenerationStats lastStats;
    private int lastLookaheadSteps;

    public Generator(CausalLm model) {
        this(model, lookaheadFromEnvironment());
    }

    public Generator(CausalLm model, boolean lookahead) {
        this.model = model;
        this.decoding = lookahead ? new LookaheadDecoding() : new EagerDecoding();
    }

    /** On unless STEER_LOOKAHEAD (else the system property steer.lookahead) is "0". */
    public static boolean lookaheadFromEnvironment() {
        String env = System.getenv("STEER_LOOKAHEAD");
        String v = env != null ? env : System.getProperty("steer.lookahead");
        return v == null || !v.trim().equals("0");
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests, GenerationOptions opts) {
        return generate(requests, opts, null);
    }

    /** As {@link #generate(List, GenerationOptions)}, calling {@code progress} with the batch's new tokens after each step. */
    public List<GenerationResult> generate(List<GenerationRequest> requests, GenerationOptions opts, IntConsumer progress) {
        int longest = requests.stream().mapToInt(r -> r.promptIds().length).max().orElseThrow();
        long t0 = System.nanoTime(), tPrefill;
        DecodeStrategy.Outcome outcome;
        List<GenerationResult> results = new ArrayList<>();
        try (RunningBatch batch = RunningBatch.prefill(model, requests, opts, longest + opts.maxNewTokens())) {
            tPrefill = System.nanoTime();
            outcome = decoding.run(batch, progress);
            long end = System.nanoTime();
            lastStats = new GenerationStats(requests.size(), longest, tPrefill - t0, outcome.decodeSteps(), end - tPrefill);
            for (Row r : batch.rows()) results.add(batch.result(r));
        }
        lastLookaheadSteps = outcome.lookaheadSteps();
        return results;
    }

    /**
     * Prefills {@code requests} and returns the running batch, for a caller that steps it itself and lets rows join
     * and leave between steps ({@link RunningBatch#step}, {@link RunningBatch#join}, {@link RunningBatch#leave}).
     * {@code capacity}: cache slots per row, for the prompts, their answers and any row that joins later.
     */
    public RunningBatch start(List<GenerationRequest> requests, GenerationOptions opts, int capacity) {
        return RunningBatch.prefill(model, requests, opts, capacity);
    }

    /** Steps of the last {@link #generate} call recorded ahead (a step that ran for nothing included). */
    public int lastLookaheadSteps() {
        return lastLookaheadSteps;
    }

    /** Timings of the last {@link #generate} call. */
    public GenerationStats lastStats() {
        return lastStats;
    }
}
