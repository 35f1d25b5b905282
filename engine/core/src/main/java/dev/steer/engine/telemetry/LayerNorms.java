package dev.steer.engine.telemetry;

/**
 * The ‖h‖ (L2 over hidden, before the steering add) one row measured at one hook point, split as the law and the
 * reports need it: prompt tokens with a leading BOS apart, the last prompt token, and response tokens. Padding is
 * never counted. Means are in double; NaN where nothing was counted.
 */
public final class LayerNorms {
    private double promptSum;
    private long promptCount;
    private double bos = Double.NaN;
    private double lastPrompt = Double.NaN;
    private double responseSum;
    private long responseCount;

    void addBos(double norm) {
        bos = norm;
        lastPrompt = norm;
    }

    void addPrompt(double norm) {
        promptSum += norm;
        promptCount++;
        lastPrompt = norm;
    }

    void addResponse(double norm) {
        responseSum += norm;
        responseCount++;
    }

    /** The law's norm for this row: mean over prompt tokens, BOS excluded ({@code activation_norm}). */
    public double promptMean() {
        return promptCount == 0 ? Double.NaN : promptSum / promptCount;
    }

    /** Prompt tokens counted by {@link #promptMean}. */
    public long promptCount() {
        return promptCount;
    }

    double promptSum() {
        return promptSum;
    }

    public double responseMean() {
        return responseCount == 0 ? Double.NaN : responseSum / responseCount;
    }

    public long responseCount() {
        return responseCount;
    }

    /** Mean over the chosen parts (prompt and/or response, BOS excluded), weighted by count: the steered positions' norm. */
    public double mean(boolean prompt, boolean response) {
        double s = (prompt ? promptSum : 0) + (response ? responseSum : 0);
        long n = (prompt ? promptCount : 0) + (response ? responseCount : 0);
        return n == 0 ? Double.NaN : s / n;
    }

    /** Mean over every prompt token, BOS included ({@code steer norms}' {@code resid_norm_mean}, the fixture's convention). */
    public double promptMeanWithBos() {
        boolean hasBos = !Double.isNaN(bos);
        long n = promptCount + (hasBos ? 1 : 0);
        return n == 0 ? Double.NaN : (promptSum + (hasBos ? bos : 0)) / n;
    }

    /** Prompt tokens counted by {@link #promptMeanWithBos}. */
    public long tokensWithBos() {
        return promptCount + (Double.isNaN(bos) ? 0 : 1);
    }

    /** The norm at the last prompt token ({@code resid_norm_last}). */
    public double lastPrompt() {
        return lastPrompt;
    }
}
