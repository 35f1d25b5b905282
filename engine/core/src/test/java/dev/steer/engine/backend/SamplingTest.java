package dev.steer.engine.backend;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Temperature and nucleus sampling against the distributions they must draw from. */
class SamplingTest {
    // logits ln(0.5), ln(0.3), ln(0.15), ln(0.05): softmax at T=1 is exactly those probabilities
    static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};

    static double[] frequencies(double temperature, double topP, int draws) {
        SplittableRandom rng = new SplittableRandom(11);
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < draws; i++) f[Sampling.sample(LOGITS, 0, LOGITS.length, temperature, topP, rng.nextDouble())]++;
        for (int i = 0; i < f.length; i++) f[i] /= draws;
        return f;
    }

    @Test
    void temperatureOneDrawsFromTheSoftmax() {
        double[] f = frequencies(1.0, 1.0, 200_000);
        double[] p = {0.5, 0.3, 0.15, 0.05};
        for (int i = 0; i < p.length; i++) assertEquals(p[i], f[i], 0.005, "token " + i);
    }

    @Test
    void temperatureSharpens() {
        // T = 0.5 squares the probabilities before renormalising: 0.25, 0.09, 0.0225, 0.0025 over 0.365
        double[] f = frequencies(0.5, 1.0, 200_000);
        double z = 0.25 + 0.09 + 0.0225 + 0.0025;
        assertEquals(0.25 / z, f[0], 0.005);
        assertEquals(0.09 / z, f[1], 0.005);
    }

    @Test
    void topPKeepsTheSmallestNucleusReachingP() {
        // p = 0.7: 0.5 alone is not enough, 0.5 + 0.3 = 0.8 is; renormalised 0.625 / 0.375, tokens 2 and 3 never
        double[] f = frequencies(1.0, 0.7, 200_000);
        assertEquals(0.625, f[0], 0.005);
        assertEquals(0.375, f[1], 0.005);
        assertEquals(0.0, f[2] + f[3], 0.0);
    }

    @Test
    void aTinyNucleusIsGreedy() {
        double[] f = frequencies(1.0, 0.01, 10_000);
        assertEquals(1.0, f[0], 0.0);
    }

    @Test
    void theSameSeedGivesTheSameDraws() {
        SplittableRandom a = new SplittableRandom(5), b = new SplittableRandom(5);
        for (int i = 0; i < 100; i++)
            assertEquals(Sampling.sample(LOGITS, 0, 4, 0.8, 0.9, a.nextDouble()), Sampling.sample(LOGITS, 0, 4, 0.8, 0.9, b.nextDouble()));
    }
}
