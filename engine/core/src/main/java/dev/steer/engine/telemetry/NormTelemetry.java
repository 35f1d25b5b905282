package dev.steer.engine.telemetry;

import dev.steer.engine.backend.StepLayout;

/**
 * The one place every ‖h‖ of steer is counted: generation telemetry, {@code steer norms}, {@code steer ratio}, the
 * activation norm extraction records, and the server. A hook hands it each step's norms per (row, slot), measured
 * before the steering add; it sorts them by the layout into each row's prompt and response tokens, setting a leading
 * BOS apart ({@link LayerNorms}). Which slots are prompt is read from the {@link StepLayout}, so a row whose prompt
 * is fed while others decode is counted right.
 */
public final class NormTelemetry {
    private final LayerNorms[][] norms;   // [row][layer], made when the layer is first measured for the row
    private final boolean[] startsWithBos;
    private final boolean[] counted;

    /**
     * @param layers        the model's layer count
     * @param startsWithBos per row, whether its first real token is BOS (then it is not counted as a prompt token)
     */
    public NormTelemetry(int layers, boolean[] startsWithBos) {
        this.startsWithBos = startsWithBos.clone();
        this.norms = new LayerNorms[startsWithBos.length][layers];
        this.counted = new boolean[startsWithBos.length];
        for (int r = 0; r < startsWithBos.length; r++) reset(r, startsWithBos[r]);
    }

    /** Per row of {@code padded}, whether its first real token is {@code bosId}: what the constructor takes. */
    public static boolean[] startsWithBos(dev.steer.engine.backend.PaddedPrompts padded, int bosId) {
        boolean[] bos = new boolean[padded.batch()];
        for (int r = 0; r < bos.length; r++) bos[r] = padded.firstToken(r) == bosId;
        return bos;
    }

    /** Starts row {@code r} afresh (a new request in that slot); it is counted from now on. */
    public void reset(int r, boolean startsWithBos) {
        this.startsWithBos[r] = startsWithBos;
        java.util.Arrays.fill(norms[r], null);
        counted[r] = true;
    }

    /** Row {@code r} stopped: what it measured is kept, later steps do not add to it. */
    public void stop(int r) {
        counted[r] = false;
    }

    /**
     * Adds one step's norms at {@code layer}: {@code n} is [batch, steps] row-major as {@code layout} lays the step
     * out; pad slots and rows that stopped are skipped.
     */
    public void record(int layer, float[] n, StepLayout layout) {
        for (int r = 0; r < layout.batch(); r++) {
            if (!counted[r]) continue;
            LayerNorms acc = norms[r][layer];
            if (acc == null) acc = norms[r][layer] = new LayerNorms();
            for (int t = 0; t < layout.steps(); t++) {
                if (!layout.isReal(r, t)) continue;
                double v = n[r * layout.steps() + t];
                if (!layout.isPrompt(r, t)) acc.addResponse(v);
                else if (startsWithBos[r] && layout.past() + t == layout.padLeft()[r]) acc.addBos(v);
                else acc.addPrompt(v);
            }
        }
    }

    /** What row {@code r} measured at {@code layer} (nothing counted, NaN means, where it was never measured). */
    public LayerNorms at(int r, int layer) {
        LayerNorms n = norms[r][layer];
        return n == null ? new LayerNorms() : n;
    }

    public int rows() {
        return norms.length;
    }
}
