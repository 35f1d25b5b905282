package dev.steer.engine.report;

import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One steered run as the ratio-law report sees it. Scores are the judges' 0-100 means over the run's responses.
 *
 * @param ratio perturbation strength {@code |coef| × vectorNorm / activationNorm} ({@link RunRecord#ratioOf}); the
 *              absolute value makes a negative-direction run bucket by how hard it pushes
 * @param delta {@code traitMean − baselineTraitMean}, raw (a run suppressing a trait succeeds with delta &lt; 0)
 */
public record RunPoint(String trait, int layer, String method, double coef, double vectorNorm, double activationNorm,
                       double ratio, double coherence, double traitMean, double baselineTraitMean, double delta) {

    /** A point from the quantities a run records; ratio and delta are derived here, one convention for all. */
    public static RunPoint of(String trait, int layer, String method, double coef, double vectorNorm,
                              double activationNorm, double coherence, double traitMean, double baselineTraitMean) {
        Double ratio = RunRecord.ratioOf(coef, vectorNorm, activationNorm);
        if (ratio == null) throw new IllegalArgumentException("activation_norm must be > 0, got " + activationNorm);
        return new RunPoint(trait, layer, method, coef, vectorNorm, activationNorm, ratio, coherence, traitMean,
                baselineTraitMean, traitMean - baselineTraitMean);
    }

    /**
     * The run as a point, or empty when it has no place in the law: a baseline, or a run missing its layer, a norm,
     * its coherence or trait mean, or its baseline's trait mean.
     */
    public static Optional<RunPoint> from(RunRecord r) {
        if (r.kind() == RunKind.BASELINE || r.layer() == null || r.vectorNorm() == null || r.activationNorm() == null
                || !(r.activationNorm() > 0) || r.coherenceMean() == null || r.traitMean() == null
                || r.baselineTraitMean() == null)
            return Optional.empty();
        return Optional.of(of(r.trait(), r.layer(), r.method(), r.coef(), r.vectorNorm(), r.activationNorm(),
                r.coherenceMean(), r.traitMean(), r.baselineTraitMean()));
    }

    /** The runs that have a place in the law ({@link #from}), in the order given. */
    public static List<RunPoint> fromRuns(List<RunRecord> runs) {
        List<RunPoint> out = new ArrayList<>();
        for (RunRecord r : runs) from(r).ifPresent(out::add);
        return out;
    }
}
