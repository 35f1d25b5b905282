package dev.steer.engine.telemetry;

/** Running mean of L2 norms (in double), split into prompt and response positions. */
public final class NormAccumulator {
    private double promptSum;
    private long promptCount;
    private double responseSum;
    private long responseCount;

    public void addPrompt(double norm) {
        promptSum += norm;
        promptCount++;
    }

    public void addResponse(double norm) {
        responseSum += norm;
        responseCount++;
    }

    public long promptCount() {
        return promptCount;
    }

    public long responseCount() {
        return responseCount;
    }

    public double promptMean() {
        return promptCount == 0 ? Double.NaN : promptSum / promptCount;
    }

    public double responseMean() {
        return responseCount == 0 ? Double.NaN : responseSum / responseCount;
    }

    /** Mean over the chosen parts (prompt and/or response), weighted by count. */
    public double mean(boolean prompt, boolean response) {
        double s = (prompt ? promptSum : 0) + (response ? responseSum : 0);
        long n = (prompt ? promptCount : 0) + (response ? responseCount : 0);
        return n == 0 ? Double.NaN : s / n;
    }
}
