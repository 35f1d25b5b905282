package dev.steer.engine.extract;

/**
 * The deterministic held-out split both methods are scored on: k = min(5, n_pos, n_neg) folds; positive i and
 * negative i go to fold {@code i mod k}, so a contrastive pair (same index on both sides) is held out together.
 * Every example is held out exactly once; with fewer than 2 examples on a side there is no split (k < 2).
 */
record Folds(int k, int positives, int negatives) {
    static final int MAX_FOLDS = 5;

    static Folds of(int positives, int negatives) {
        return new Folds(Math.min(MAX_FOLDS, Math.min(positives, negatives)), positives, negatives);
    }

    boolean usable() {
        return k >= 2;
    }

    int foldOf(int index) {
        return index % k;
    }

    float[][] train(float[][] rows, int fold) {
        return pick(rows, fold, false);
    }

    float[][] heldOut(float[][] rows, int fold) {
        return pick(rows, fold, true);
    }

    private float[][] pick(float[][] rows, int fold, boolean held) {
        int n = 0;
        for (int i = 0; i < rows.length; i++) if ((foldOf(i) == fold) == held) n++;
        float[][] out = new float[n][];
        n = 0;
        for (int i = 0; i < rows.length; i++) if ((foldOf(i) == fold) == held) out[n++] = rows[i];
        return out;
    }
}
