package dev.steer.engine.sweep;

import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A coefficient sweep: the unsteered baseline once, then every candidate (layer, coef) on every question. Runs
 * already stored with the same config key are reused, not regenerated, so a killed sweep resumes where it
 * stopped. The rest are evaluated in chunks of several candidates (their rows share generation batches), and each
 * run is stored, whole, as soon as its chunk is judged: a kill loses at most the chunk in flight.
 */
public final class Sweep {
    /** A stored run and whether this sweep found it already stored. */
    public record Outcome(RunRecord run, boolean reused) {
    }

    public record Result(Outcome baseline, List<Outcome> runs) {
    }

    private Sweep() {
    }

    /** The trait's unsteered baseline run: stored, or generated and stored now. */
    public static Outcome baseline(Evaluator evaluator, RunLog log, SweepListener listener) {
        Candidate b = Candidate.baseline();
        Optional<RunRecord> found = log.find(b);
        if (found.isPresent()) {
            listener.reused(found.get());
            return new Outcome(found.get(), true);
        }
        listener.planned(1, evaluator.questions().size());
        Evaluation e = evaluator.evaluate(List.of(b)).get(0);
        RunRecord run = log.save(e, RunKind.BASELINE, null, null);
        listener.stored(run, e);
        return new Outcome(run, false);
    }

    /**
     * @param candidatesPerChunk how many candidates are generated and judged together before their runs are stored
     */
    public static Result run(Evaluator evaluator, RunLog log, List<Candidate> candidates, int candidatesPerChunk,
                             SweepListener listener) {
        Outcome baseline = baseline(evaluator, log, listener);
        Double baselineTrait = baseline.run().traitMean();
        Outcome[] outcomes = new Outcome[candidates.size()];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            Optional<RunRecord> found = log.find(candidates.get(i));
            if (found.isPresent()) {
                outcomes[i] = new Outcome(found.get(), true);
                listener.reused(found.get());
            } else {
                Candidate c = candidates.get(i);
                if (missing.stream().noneMatch(j -> candidates.get(j).equals(c))) missing.add(i);
            }
        }
        listener.planned(missing.size(), missing.size() * evaluator.questions().size());
        int chunk = Math.max(1, candidatesPerChunk);
        for (int from = 0; from < missing.size(); from += chunk) {
            List<Integer> idx = missing.subList(from, Math.min(missing.size(), from + chunk));
            List<Evaluation> evals = evaluator.evaluate(idx.stream().map(candidates::get).toList());
            for (int k = 0; k < idx.size(); k++) {
                RunRecord run = log.save(evals.get(k), RunKind.SWEEP, null, baselineTrait);
                outcomes[idx.get(k)] = new Outcome(run, false);
                listener.stored(run, evals.get(k));
            }
        }
        // A candidate listed twice shares the first one's run.
        for (int i = 0; i < outcomes.length; i++)
            if (outcomes[i] == null) outcomes[i] = new Outcome(log.stored(candidates.get(i)).orElseThrow(), true);
        return new Result(baseline, List.of(outcomes));
    }
}
