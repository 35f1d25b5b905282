package dev.steer.engine.generation;

/**
 * Wall-clock timings of one batched generation: the prefill (prompt pass and first token choice) and the decode
 * steps that followed (each feeds one token per row). Tokens/s count every row, padding excluded for prefill.
 */
public record GenerationStats(int batch, int promptLength, long prefillNanos, int decodeSteps, long decodeNanos) {
    public double prefillTokensPerSecond(long promptTokens) {
        return promptTokens / (prefillNanos / 1e9);
    }

    public double decodeTokensPerSecond() {
        return decodeSteps == 0 ? Double.NaN : (double) batch * decodeSteps / (decodeNanos / 1e9);
    }

    public double decodeMillisPerStep() {
        return decodeSteps == 0 ? Double.NaN : decodeNanos / 1e6 / decodeSteps;
    }
}
