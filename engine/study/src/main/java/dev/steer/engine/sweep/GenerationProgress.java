package dev.steer.engine.sweep;

/** Told about generation as it happens, for progress bars: new tokens after each step, rows after each batch. */
public interface GenerationProgress {
    GenerationProgress NONE = new GenerationProgress() {
        @Override
        public void tokens(int n) {
        }

        @Override
        public void rows(int n) {
        }
    };

    void tokens(int n);

    void rows(int n);
}
