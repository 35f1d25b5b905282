package dev.steer.engine.backend;

/**
 * Where one forward step sits in a left-padded batch: {@code steps} new tokens per row are appended after
 * {@code past} cached ones; row b's first {@code padLeft[b]} slots (counted from the start of the cache) are
 * padding. Token index i of row b (0 = first cache slot) has position {@code i - padLeft[b]}; keys in pad slots
 * are never attended to; pad queries produce values nobody reads.
 */
public record StepLayout(int batch, int past, int steps, int[] padLeft) {
    public StepLayout {
        if (padLeft.length != batch) throw new IllegalArgumentException("padLeft has " + padLeft.length + " rows, batch " + batch);
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
}
