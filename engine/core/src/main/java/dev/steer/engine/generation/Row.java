package dev.steer.engine.generation;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One request in a running batch: its prompt and steering, the batch slot it holds, the tokens it has produced, and
 * whether it has finished. A row that joins a batch already decoding has its prompt fed one token per step
 * ({@link #feeding()}) while the others generate; its positions count from its own first token either way.
 */
public final class Row {
    final GenerationRequest request;
    final int slot;
    /** This row's own limits and sampling (a batch's rows may differ: each server request brings its own). */
    final GenerationOptions opts;
    final SplittableRandom rng;
    private final int[] out;
    private int produced;
    /** Prompt tokens fed so far: the whole prompt for a row prefilled with the batch. */
    int fed;
    private boolean finished;
    private boolean eos;
    float[] promptLogits;

    Row(GenerationRequest request, int slot, GenerationOptions opts, int fed) {
        this.request = request;
        this.slot = slot;
        this.opts = opts;
        this.rng = new SplittableRandom(opts.seed());
        this.out = new int[opts.maxNewTokens()];
        this.fed = fed;
    }

    public GenerationOptions options() {
        return opts;
    }

    public GenerationRequest request() {
        return request;
    }

    /** The batch slot (row index of the KV cache) this row holds. */
    public int slot() {
        return slot;
    }

    /** Whether its prompt is still being fed (a row that joined a running batch). */
    public boolean feeding() {
        return fed < request.promptIds().length;
    }

    /** The next prompt token to feed. */
    int nextPromptToken() {
        return request.promptIds()[fed];
    }

    /** The tokens produced so far (the EOS that stopped it included). */
    public int[] tokens() {
        return Arrays.copyOf(out, produced);
    }

    public int produced() {
        return produced;
    }

    int lastToken() {
        return out[produced - 1];
    }

    public boolean finished() {
        return finished;
    }

    public boolean stoppedAtEos() {
        return eos;
    }

    /** Appends a generated token; finishes the row at EOS (when asked to stop there) or at the token limit. */
    void take(int token, boolean isEos) {
        out[produced++] = token;
        if (opts.stopAtEos() && isEos) {
            finished = true;
            eos = true;
        } else if (produced == opts.maxNewTokens()) {
            finished = true;
        }
    }

    void finish() {
        finished = true;
    }
}
