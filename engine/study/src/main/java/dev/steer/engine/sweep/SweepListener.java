package dev.steer.engine.sweep;

import dev.steer.engine.store.RunRecord;

/** Told what a sweep or search does with each run, for progress and logs. */
public interface SweepListener {
    SweepListener NONE = new SweepListener() {
    };

    /** Before generating: how many runs and answer rows are left to make (the rest are reused). */
    default void planned(int runs, int rows) {
    }

    /** A search starts step {@code step} (0-based) of {@code steps}, for a progress line per step. */
    default void searchStep(int step, int steps) {
    }

    /** A run already in the store (same config key) taken as is. */
    default void reused(RunRecord run) {
    }

    /** A run generated, judged and stored. */
    default void stored(RunRecord run, Evaluation evaluation) {
    }
}
