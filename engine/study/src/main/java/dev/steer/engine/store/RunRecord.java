package dev.steer.engine.store;

import dev.steer.engine.law.PerturbationRatio;

import java.time.Instant;

/**
 * One run: a set of questions generated under one configuration and judged. Scores and means are on the judges'
 * 0-100 scale; null means not available (unscored, or not applicable to a baseline).
 *
 * <p>Norms: {@code vectorNorm} is ‖v‖ (L2) of the steering vector; {@code activationNorm} is the law's ‖h_L‖
 * ({@code activation_norm}): the mean L2 norm of the residual at the hooked layer over the run's prompt tokens, BOS
 * excluded, before the add, <em>measured live in this run</em>. Reports bucket by {@link #ratio()}
 * {@code = |coef| × vectorNorm / activationNorm}. {@code steeredNormMean} is the mean over the run's rows of each
 * row's ‖h‖ over its steered positions (response included), {@code steeredRatio} its ratio, both unsigned.
 * Runs stored by schema 1 have the steered quantities only (their activation norm is null, so no ratio).
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
                        Double activationNorm, Double steeredNormMean, Double steeredRatio, RunKind kind, Integer searchStep,
                        Instant createdAt, RunStatus status) {

    public RunRecord withId(long newId) {
        return new RunRecord(newId, configKey, modelId, vectorId, trait, layer, method, coef, positions, judge,
                coherenceJudge, maxNewTokens, seed, temperature, n, traitMean, coherenceMean, baselineTraitMean,
                delta, vectorNorm, activationNorm, steeredNormMean, steeredRatio, kind, searchStep, createdAt, status);
    }

    /** The perturbation strength {@link #ratioOf} of this run, or null when a norm is missing (baselines). */
    public Double ratio() {
        if (vectorNorm == null || activationNorm == null) return null;
        return ratioOf(coef, vectorNorm, activationNorm);
    }

    /**
     * {@link PerturbationRatio#ratio} as the store and reports hold it: null where it is NaN (the norm is not
     * positive). The absolute value of coef is taken, so a run suppressing a trait is bucketed by how hard it pushes.
     */
    public static Double ratioOf(double coef, double vectorNorm, double activationNorm) {
        double r = PerturbationRatio.ratio(coef, vectorNorm, activationNorm);
        return Double.isNaN(r) ? null : r;
    }

}
