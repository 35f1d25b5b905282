package dev.steer.cli;

import dev.steer.engine.store.RunRecord;
import dev.steer.engine.sweep.Evaluation;
import dev.steer.engine.sweep.GenerationProgress;
import dev.steer.engine.sweep.SweepListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.Locale;

/**
 * A progress bar on stderr counting generated answers (with ETA) and showing generated tokens/s; silent when
 * {@code --format json} asks for clean output. The bar appears only once there is something to generate.
 */
final class ProgressReport implements GenerationProgress, SweepListener, AutoCloseable {
    private final String task;
    private final boolean silent;
    private final String unit;
    private ProgressBar bar;
    private long tokens;
    private long startNanos;
    private boolean fixedTotal;

    ProgressReport(String task, boolean silent) {
        this(task, silent, " answers");
    }

    /** {@code unit}: what a step counts, e.g. " prompts" for extraction passes. */
    ProgressReport(String task, boolean silent, String unit) {
        this.task = task;
        this.silent = silent;
        this.unit = unit;
    }

    /**
     * Fixes the bar's total before the work starts, for work planned piece by piece (a search plans each step as it
     * comes): later {@link #planned} calls no longer grow it, and reused runs count as done, so the total never moves.
     */
    void expect(int rows) {
        planned(0, rows);
        fixedTotal = true;
    }

    @Override
    public void planned(int runs, int rows) {
        if (silent || rows == 0 || fixedTotal) return;
        if (bar == null) {
            startNanos = System.nanoTime();
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(rows).setUnit(unit, 1)
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
                    .setUpdateIntervalMillis(500).build();
        } else {
            bar.maxHint(bar.getMax() + rows);
        }
    }

    @Override
    public void tokens(int n) {
        tokens += n;
        if (bar == null) return;
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        if (seconds > 0) bar.setExtraMessage(String.format(Locale.ROOT, "%.1f tok/s", tokens / seconds));
    }

    @Override
    public void rows(int n) {
        if (bar != null) bar.stepBy(n);
    }

    @Override
    public void reused(RunRecord run) {
        if (fixedTotal && bar != null) bar.stepBy(run.n());
    }

    @Override
    public void stored(RunRecord run, Evaluation evaluation) {
        if (bar != null) bar.refresh();
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
        fixedTotal = false;
    }
}
