package dev.steer.engine.search;

import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.sweep.Candidate;
import dev.steer.engine.sweep.Evaluation;
import dev.steer.engine.sweep.Evaluator;
import dev.steer.engine.sweep.RunLog;
import dev.steer.engine.sweep.Sweep;
import dev.steer.engine.sweep.SweepListener;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Adaptive coefficient search ({@link SearchSettings} gives the rule), all layers together: at every step each
 * layer's current candidate goes into ONE evaluation, so their rows share generation batches. Each step of each
 * layer is stored as a run of kind search; a step whose config key is already stored is reused, so a repeated or
 * interrupted search does not generate again (with greedy decoding the result would be the same).
 */
public final class AdaptiveSearch {
    /** Where a layer's search starts from: the ‖h_L‖ measured on the questions. */
    public record LayerStart(int layer, double questionNorm) {
    }

    public record Result(Sweep.Outcome baseline, List<LayerTrajectory> layers) {
    }

    private final SearchSettings settings;

    public AdaptiveSearch(SearchSettings settings) {
        this.settings = settings;
    }

    /** The first coef of a layer: {@code startFraction × coef_for(1.0)}, signed by the direction. */
    public double startCoef(double vectorNorm, double questionNorm) {
        return settings.direction().sign() * settings.startFraction() * PerturbationRatio.coefFor(1.0, vectorNorm, questionNorm);
    }

    public Result run(Evaluator evaluator, RunLog log, List<LayerStart> starts, SweepListener listener) {
        Sweep.Outcome baseline = Sweep.baseline(evaluator, log, listener);
        int n = starts.size();
        SearchSettings.Stride[] stride = new SearchSettings.Stride[n];
        double[] vnorm = new double[n];
        List<List<SearchStep>> steps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            vnorm[i] = log.vector(starts.get(i).layer()).norm();
            stride[i] = new SearchSettings.Stride(Math.abs(startCoef(vnorm[i], starts.get(i).questionNorm())), 0);
            steps.add(new ArrayList<>());
        }
        for (int step = 0; step < settings.steps(); step++) {
            listener.searchStep(step, settings.steps());
            Candidate[] cands = new Candidate[n];
            RunRecord[] runs = new RunRecord[n];
            boolean[] reused = new boolean[n];
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int layer = starts.get(i).layer();
                cands[i] = new Candidate(layer, log.vector(layer), settings.direction().sign() * stride[i].magnitude());
                Optional<RunRecord> found = log.find(cands[i]);
                if (found.isPresent()) {
                    runs[i] = found.get();
                    reused[i] = true;
                    listener.reused(found.get());
                } else {
                    missing.add(i);
                }
            }
            listener.planned(missing.size(), missing.size() * evaluator.questions().size());
            List<Evaluation> evals = evaluator.evaluate(missing.stream().map(i -> cands[i]).toList());
            for (int k = 0; k < missing.size(); k++) {
                int i = missing.get(k);
                runs[i] = log.save(evals.get(k), RunKind.SEARCH, step, baseline.run().traitMean());
                listener.stored(runs[i], evals.get(k));
            }
            for (int i = 0; i < n; i++) {
                RunRecord r = runs[i];
                boolean coherent = settings.coherent(r.coherenceMean());
                double nominal = PerturbationRatio.ratio(cands[i].coef(), vnorm[i], starts.get(i).questionNorm());
                steps.get(i).add(new SearchStep(step, cands[i].coef(), nominal, r.ratio(), r.steeredRatio(), r.traitMean(),
                        r.coherenceMean(), coherent, reused[i], r.id()));
                stride[i] = stride[i].next(coherent, settings);
            }
        }
        List<LayerTrajectory> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++)
            out.add(new LayerTrajectory(starts.get(i).layer(), vnorm[i], starts.get(i).questionNorm(), steps.get(i)));
        return new Result(baseline, out);
    }
}
