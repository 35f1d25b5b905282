package dev.steer.engine.sweep;

import java.util.function.IntToDoubleFunction;

import dev.steer.engine.steering.SteeringVector;

import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStatus;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.store.VectorRecord;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The results store as a sweep or search sees it: finds a candidate's finished run by its config key (resume), and
 * saves an evaluated candidate as one run with all its responses (one transaction). Each layer's vector is
 * recorded once. Only a final run is reused ({@link RunStore#isFinal}): one stored with scores missing is evaluated
 * again and replaced, so a judge outage is not remembered as a result.
 */
public final class RunLog {
    private final RunStore store;
    private final RunContext context;
    private final Map<Integer, SteeringVector> vectors;
    private final Map<Integer, VectorRecord> storedVectors = new HashMap<>();

    private final IntToDoubleFunction questionNorm;

    /** A log whose reused runs keep what they stored (no model at hand to measure with). */
    public RunLog(RunStore store, RunContext context, Map<Integer, SteeringVector> vectors) {
        this(store, context, vectors, null);
    }

    /**
     * @param questionNorm the law norm of the questions at a layer (unsteered: a single-layer run's prompt tokens are
     *                     never steered before the add at its layer, so this is the run's own activation_norm); used to
     *                     fill in runs migrated from schema 1, which lack it, when they are reused; null: left as is
     */
    public RunLog(RunStore store, RunContext context, Map<Integer, SteeringVector> vectors, IntToDoubleFunction questionNorm) {
        this.store = store;
        this.context = context;
        this.vectors = Map.copyOf(vectors);
        this.questionNorm = questionNorm;
    }

    public RunContext context() {
        return context;
    }

    public SteeringVector vector(int layer) {
        SteeringVector v = vectors.get(layer);
        if (v == null) throw new IllegalArgumentException("no vector for layer " + layer);
        return v;
    }

    /** The stored final run with the same config as {@code c}, whichever kind made it: the run to reuse. */
    public Optional<RunRecord> find(Candidate c) {
        Optional<RunRecord> found = stored(c).filter(store::isFinal);
        if (found.isPresent() && questionNorm != null && c.steered() && found.get().activationNorm() == null)
            return Optional.of(store.setActivationNorm(found.get(), questionNorm.applyAsDouble(c.layer())));
        return found;
    }

    /** The run stored with the same config as {@code c}, final or not. */
    public Optional<RunRecord> stored(Candidate c) {
        return store.findByConfigKey(key(c));
    }

    public String key(Candidate c) {
        return context.config(c, c.steered() ? vector(c.layer()).sha256() : null).key();
    }

    /**
     * Saves an evaluated candidate, or returns the final run another process stored with the same key meanwhile
     * ({@link RunStore#saveRun}). Status is {@link RunStatus#UNSCORED} when no answer got a trait or a coherence
     * score; delta is {@code traitMean − baselineTraitMean} when both exist.
     */
    public RunRecord save(Evaluation e, RunKind kind, Integer searchStep, Double baselineTraitMean) {
        Candidate c = e.candidate();
        Long vectorId = null;
        String method = null;
        Double vectorNorm = null;
        if (c.steered()) {
            SteeringVector v = vector(c.layer());
            String pooling = v.provenance().pooling() == null ? "unknown" : v.provenance().pooling();
            method = v.provenance().method();
            String m = method;
            vectorId = storedVectors.computeIfAbsent(c.layer(), l -> store.saveVector(new VectorRecord(0, context.model().id(),
                    context.trait(), l, m, pooling, v.norm(), v.source(), v.sha256()))).id();
            vectorNorm = v.norm();
        }
        Double delta = e.traitMean() == null || baselineTraitMean == null ? null : e.traitMean() - baselineTraitMean;
        RunStatus status = e.traitMean() == null && e.coherenceMean() == null ? RunStatus.UNSCORED : RunStatus.COMPLETE;
        var g = context.generation();
        RunRecord run = new RunRecord(0, key(c), context.model().id(), vectorId, context.trait(), c.layer(), method,
                c.coef(), c.steered() ? context.positions().cliName() : "none", context.traitJudge(), context.coherenceJudge(),
                g.maxNewTokens(), g.seed(), g.temperature(), e.responses().size(), e.traitMean(), e.coherenceMean(),
                baselineTraitMean, delta, vectorNorm, e.activationNorm(), e.steeredNormMean(), e.steeredRatio(), kind, searchStep, Instant.now(), status);
        return store.saveRun(run, e.responses());
    }
}
