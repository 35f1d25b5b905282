package dev.steer.engine.backend;

/**
 * Where one forward step sits in a left-padded batch: {@code steps} new tokens per row are appended after
 * {@code past} cached ones; row b's first {@code padLeft[b]} slots (counted from the start of the cache) are
 * padding, and its prompt ends before slot {@code promptEnd[b]} (later slots are its response). Token index i of
 * row b (0 = first cache slot) has position {@code i - padLeft[b]}; keys in pad slots are never attended to; pad
 * queries produce values nobody reads.
 */
public record StepLayout(int batch, int past, int steps, int[] padLeft, int[] promptEnd) {
    public StepLayout {
        if (padLeft.length != batch) throw new IllegalArgumentException("padLeft has " + padLeft.length + " rows, batch " + batch);
        if (promptEnd.length != batch) throw new IllegalArgumentException("promptEnd has " + promptEnd.length + " rows, batch " + batch);
    }

    /**
     * A step whose slots are all prompt (a prefill from an empty cache, {@code past} 0) or all response (any later
     * step): the layout of a batch whose prompts were prefilled together.
     */
    public StepLayout(int batch, int past, int steps, int[] padLeft) {
        this(batch, past, steps, padLeft, filled(batch, past == 0 ? steps : past));
    }

    private static int[] filled(int batch, int v) {
        int[] a = new int[batch];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** Rotary position of token slot {@code past + t} of row {@code b}; pad slots get 0. */
    public int position(int b, int t) {
        return Math.max(0, past + t - padLeft[b]);
    }

    /** Positions for every (row, step), row-major: what {@link Backend#ropeTable} takes. */
    public int[] positions() {
        int[] p = new int[batch * steps];
        for (int b = 0; b < batch; b++) for (int t = 0; t < steps; t++) p[b * steps + t] = position(b, t);
        return p;
    }

    /** True when slot {@code past + t} of row {@code b} holds a real token. */
    public boolean isReal(int b, int t) {
        return past + t >= padLeft[b];
    }

    /** True when slot {@code past + t} of row {@code b} is one of its prompt's tokens (padding is not). */
    public boolean isPrompt(int b, int t) {
        return isReal(b, t) && past + t < promptEnd[b];
    }

    /** True when slot {@code past + t} of row {@code b} is one of its generated tokens. */
    public boolean isResponse(int b, int t) {
        return past + t >= promptEnd[b] && isReal(b, t);
    }
}
