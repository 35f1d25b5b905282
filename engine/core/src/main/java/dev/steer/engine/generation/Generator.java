package dev.steer.engine.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.BatchSteering;
import dev.steer.engine.steering.SteeringSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched generation: prompts are left-padded into one batch (positions counted per row from its first real
 * token), prefilled in one step, then decoded one token per step with a KV cache. Each row may carry its own
 * steering; telemetry is measured live at every hooked layer. A row stops at its EOS; the batch stops when
 * every row has stopped or produced {@code maxNewTokens}.
 */
public final class Generator {
    private final CausalLm model;
    private GenerationStats lastStats;
    private int lastLookaheadSteps;

    public Generator(CausalLm model) {
        this.model = model;
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests, GenerationOptions opts) {
        return generate(requests, opts, null);
    }

    /** As {@link #generate(List, GenerationOptions)}, calling {@code progress} with the batch's new tokens after each step. */
    public List<GenerationResult> generate(List<GenerationRequest> requests, GenerationOptions opts, java.util.function.IntConsumer progress) {
        ModelDims dims = model.dims();
        Backend b = model.backend();
        int batch = requests.size();
        List<int[]> promptIds = new ArrayList<>();
        List<List<SteeringSpec>> specs = new ArrayList<>();
        for (GenerationRequest r : requests) {
            promptIds.add(r.promptIds());
            specs.add(r.steering());
        }
        PaddedPrompts padded = PaddedPrompts.of(promptIds, dims.padId());
        int maxLen = padded.length();
        int[] padLeft = padded.padLeft();
        int[] firstToken = new int[batch];
        for (int r = 0; r < batch; r++) firstToken[r] = padded.firstToken(r);
        BatchSteering hook = new BatchSteering(b, dims, specs, opts.measureLayers(), firstToken);
        int[][] out = new int[batch][opts.maxNewTokens()];
        int[] produced = new int[batch];
        boolean[] active = new boolean[batch];
        boolean[] eos = new boolean[batch];
        Arrays.fill(active, true);
        float[][] promptLogits = new float[batch][];
        SplittableRandom[] rng = new SplittableRandom[batch];
        for (int r = 0; r < batch; r++) rng[r] = new SplittableRandom(opts.seed());

        long t0 = System.nanoTime(), tPrefill;
        int decodeSteps = 0, lookaheadSteps = 0;
        try (KvCache cache = model.newCache(batch, maxLen + opts.maxNewTokens()); Scope run = b.openScope()) {
            hook.upload();
            int[] next;
            try (Scope step = b.openScope()) {
                Tensor logits = model.forward(padded.upload(b), padded.layout(), cache, hook, false);
                hook.collect();
                if (opts.keepPromptLogits()) {
                    float[] all = b.toHost(logits);
                    for (int r = 0; r < batch; r++)
                        promptLogits[r] = Arrays.copyOfRange(all, r * dims.vocab(), (r + 1) * dims.vocab());
                }
                next = chooseLater(b, logits, opts, rng).get();
            }
            tPrefill = System.nanoTime();
            hook.startDecoding();
            // The last launched step's tokens and telemetry, not yet read back (the prefill's are).
            Pending<int[]> tokens = Pending.of(next);
            Runnable telemetry = () -> { };
            boolean lookahead = lookahead();
            while (true) {
                // Look-ahead: record the next step while the device runs the last one; its token ids are set once
                // the last step's tokens are back, just before it ends (and its graph is launched).
                boolean ahead = lookahead && b.recordsAhead(cache) && !lastStepForSure(active, produced, opts);
                int[] feed = null;
                if (!ahead) {
                    telemetry.run();
                    int[] last = tokens.get();
                    if (!take(last, out, produced, active, eos, opts, dims, progress)) break;
                    hook.setActive(active);
                    feed = feed(last, active, dims);
                }
                boolean wasted = false;
                try (Scope step = b.openScope()) {
                    StepLayout layout = new StepLayout(batch, cache.length(), 1, padLeft);
                    Tensor logits;
                    b.beginRepeatedStep(cache);
                    try {
                        Tensor ids = ahead ? b.intsLater(batch, 1) : b.ints(feed, batch, 1);
                        logits = model.forward(ids, layout, cache, hook, false);
                        if (ahead) {
                            telemetry.run();
                            int[] last = tokens.get();
                            wasted = !take(last, out, produced, active, eos, opts, dims, progress);
                            hook.setActive(active);
                            b.setInts(ids, feed(last, active, dims));
                        }
                    } finally {
                        b.endRepeatedStep();
                    }
                    telemetry = hook.collectLater();
                    tokens = chooseLater(b, logits, opts, rng);
                }
                if (ahead) lookaheadSteps++;
                if (wasted) {
                    // every row stopped (EOS) after the step recorded ahead: it ran for nothing; wait for it so the
                    // timing includes it, and drop its telemetry (no row is active)
                    telemetry.run();
                    tokens.get();
                    break;
                }
                decodeSteps++;
            }
        }
        lastLookaheadSteps = lookaheadSteps;
        lastStats = new GenerationStats(batch, maxLen, tPrefill - t0, decodeSteps, System.nanoTime() - tPrefill);
        List<GenerationResult> results = new ArrayList<>();
        for (int r = 0; r < batch; r++)
            results.add(new GenerationResult(Arrays.copyOf(out[r], produced[r]), eos[r], hook.telemetry(r), promptLogits[r]));
        return results;
    }

    /**
     * Decoding with look-ahead (the default; STEER_LOOKAHEAD=0, or -Dsteer.lookahead=0, turns it off; greedy or
     * sampled): on a backend that replays a recorded step ({@link Backend#recordsAhead}), the Java forward of step
     * n + 1 runs while the device computes step n, and tokens and telemetry come back through queued copies. Same
     * tokens and telemetry; when every row stops at an EOS, one step recorded ahead runs for nothing. Default since
     * device run 6 (H100, BENCHMARKS.md): steered decode 413.2 against 408.9 tok/s at batch 1, 18,294 against 18,023
     * at batch 64.
     */
    static boolean lookahead() {
        String env = System.getenv("STEER_LOOKAHEAD");
        String v = env != null ? env : System.getProperty("steer.lookahead");
        return v == null || !v.trim().equals("0");
    }

    /** Appends each active row's new token; updates which rows stop (EOS, or maxNewTokens). False when none is left. */
    private static boolean take(int[] next, int[][] out, int[] produced, boolean[] active, boolean[] eos, GenerationOptions opts,
                                ModelDims dims, java.util.function.IntConsumer progress) {
        int fresh = 0;
        for (int r = 0; r < next.length; r++) {
            if (!active[r]) continue;
            out[r][produced[r]++] = next[r];
            fresh++;
            if (opts.stopAtEos() && dims.isEos(next[r])) {
                active[r] = false;
                eos[r] = true;
            } else if (produced[r] == opts.maxNewTokens()) {
                active[r] = false;
            }
        }
        if (progress != null) progress.accept(fresh);
        for (boolean a : active) if (a) return true;
        return false;
    }

    /** Active rows feed their new token, stopped rows the pad id. */
    private static int[] feed(int[] next, boolean[] active, ModelDims dims) {
        int[] feed = new int[next.length];
        for (int r = 0; r < next.length; r++) feed[r] = active[r] ? next[r] : dims.padId();
        return feed;
    }

    /** Whether the tokens in flight end every row by length (so no step is worth recording ahead). */
    private static boolean lastStepForSure(boolean[] active, int[] produced, GenerationOptions opts) {
        for (int r = 0; r < active.length; r++) if (active[r] && produced[r] + 1 < opts.maxNewTokens()) return false;
        return true;
    }

    /** Steps of the last {@link #generate} call recorded ahead (a step that ran for nothing included). */
    public int lastLookaheadSteps() {
        return lastLookaheadSteps;
    }

    /** Timings of the last {@link #generate} call. */
    public GenerationStats lastStats() {
        return lastStats;
    }

    /**
     * The next token of each row, greedy or sampled, queued (the step-by-step loop waits for it at once, look-ahead
     * one step later); the draws are made now, in step order, so the tokens are the same either way.
     */
    private static Pending<int[]> chooseLater(Backend b, Tensor logits, GenerationOptions opts, SplittableRandom[] rng) {
        if (opts.temperature() == 0) return b.argmaxLater(logits);
        double[] u = new double[rng.length];
        for (int r = 0; r < rng.length; r++) u[r] = rng[r].nextDouble();
        return b.sampleLater(logits, opts.temperature(), opts.topP(), u);
    }
}
