package dev.steer.engine.store;

import java.time.Instant;

/**
 * One run: a set of questions generated under one configuration and judged. Scores and means are on the judges'
 * 0-100 scale; null means not available (unscored, or not applicable to a baseline).
 *
 * <p>Norms: {@code vectorNorm} is ‖v‖ (L2) of the steering vector; {@code activationNorm} is ‖h_L‖, the mean L2
 * norm of the residual stream at the hooked layer <em>measured live in this run</em>, before the steering add,
 * over the steered positions (BOS excluded). {@code liveRatio = coef × vectorNorm / activationNorm} as the run
 * computed it (signed: negative for runs that suppress a trait). Reports bucket by strength, {@link #ratio()}.
 *
 * @param id            0 until stored
 * @param configKey     {@link RunConfig#key()}: equal keys mean the result would be identical
 * @param vectorId      null for a baseline run
 * @param layer         null for a baseline run
 * @param method        extraction method of the vector (mean_diff, probe, ...); null for a baseline run
 * @param positions     all | prompt | response
 * @param n             number of responses; {@link RunStore#saveRun} requires it to equal the responses given
 * @param delta         traitMean − baselineTraitMean (raw, not sign-adjusted for negative-direction runs)
 * @param searchStep    step index for {@link RunKind#SEARCH} runs, from 0; null otherwise
 */
public record RunRecord(long id, String configKey, long modelId, Long vectorId, String trait, Integer layer,
                        String method, double coef, String positions, String judge, String coherenceJudge,
                        int maxNewTokens, long seed, double temperature, int n, Double traitMean,
                        Double coherenceMean, Double baselineTraitMean, Double delta, Double vectorNorm,
                        Double activationNorm, Double liveRatio, RunKind kind, Integer searchStep,
                        Instant createdAt, RunStatus status) {

    public RunRecord withId(long newId) {
        return new RunRecord(newId, configKey, modelId, vectorId, trait, layer, method, coef, positions, judge,
                coherenceJudge, maxNewTokens, seed, temperature, n, traitMean, coherenceMean, baselineTraitMean,
                delta, vectorNorm, activationNorm, liveRatio, kind, searchStep, createdAt, status);
    }

    /** The perturbation strength {@link #ratioOf} of this run, or null when a norm is missing (baselines). */
    public Double ratio() {
        if (vectorNorm == null || activationNorm == null) return null;
        return ratioOf(coef, vectorNorm, activationNorm);
    }

    /**
     * The perturbation ratio as reports use it: {@code |coef| × ‖v‖ / ‖h_L‖}. The absolute value of coef is taken
     * so that a run suppressing a trait (negative coef) is bucketed by how hard it pushes, like its positive twin.
     * Returns null when activationNorm is not positive (no meaningful ratio).
     */
    public static Double ratioOf(double coef, double vectorNorm, double activationNorm) {
        if (!(activationNorm > 0)) return null;
        return Math.abs(coef) * vectorNorm / activationNorm;
    }
}
