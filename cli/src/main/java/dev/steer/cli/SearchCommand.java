package dev.steer.cli;

import dev.steer.engine.search.AdaptiveSearch;
import dev.steer.engine.search.Direction;
import dev.steer.engine.search.LayerTrajectory;
import dev.steer.engine.search.SearchSettings;
import dev.steer.engine.search.SearchStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

import static dev.steer.cli.SweepCommand.num;

@Command(name = "search", mixinStandardHelpOptions = true,
        description = {"Adaptive coefficient search per layer: start at 0.7 x coef_for(ratio 1.0) (||h_L|| measured on the "
                + "questions), then for --steps steps generate every eval question for EVERY layer's current coef in one "
                + "batched generation, judge trait and coherence, and multiply the coef by 1.3 if mean coherence >= the "
                + "threshold, else by 0.85 (--momentum carries the multiplier over steps in log space).",
                "Best: among coherent steps, the highest trait mean (--direction negative: coefs are negative and the best "
                        + "is the LOWEST trait mean, the strongest suppression). Each step is stored as a run of kind search; "
                        + "steps already stored are reused.",
                "Example: steer search --model DIR --trait refusal --vectors vecs --layers 6,12,18 --judge openai:gpt-4o-mini"})
final class SearchCommand implements Callable<Integer> {
    @Mixin
    EvalOptions eval;

    @Mixin
    OutputFormat format;

    @Option(names = "--steps", defaultValue = "8", paramLabel = "N", description = "Steps per layer. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--coherence-threshold", defaultValue = "70", paramLabel = "T",
            description = "Mean coherence (0-100) a step needs to grow. Default: ${DEFAULT-VALUE}.")
    double threshold;

    @Option(names = "--momentum", defaultValue = "0", paramLabel = "MU",
            description = "In [0, 1): v = MU x v + ln(1.3 or 0.85), coef x= exp(v). 0 is the plain rule. Default: ${DEFAULT-VALUE}.")
    double momentum;

    @Option(names = "--direction", defaultValue = "positive", paramLabel = "D",
            converter = LowerCaseEnum.OfDirection.class, completionCandidates = LowerCaseEnum.OfDirection.class,
            description = "positive (add the trait) or negative (suppress it: coefs negative). Default: ${DEFAULT-VALUE}.")
    Direction direction;

    @Mixin
    ShardOption shard;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        SearchSettings settings = new SearchSettings(steps, threshold, SearchSettings.GROW, SearchSettings.SHRINK, momentum,
                SearchSettings.START_FRACTION, direction);
        PrintWriter out = spec.commandLine().getOut();
        try (EvalSession s = EvalSession.open(eval, "search", format.json())) {
            int[] layers = s.layers.stream().mapToInt(Integer::intValue).toArray();
            double[] norms = s.questionNorms(eval.batchSize);
            List<AdaptiveSearch.LayerStart> starts = new ArrayList<>();
            for (int i = 0; i < layers.length; i++) starts.add(new AdaptiveSearch.LayerStart(layers[i], norms[i]));
            starts = shard.of(starts); // a layer's search is its own: shards split the layers
            s.progress.expect((1 + steps * starts.size()) * s.questions.size()); // a total that does not grow step by step
            AdaptiveSearch.Result result = new AdaptiveSearch(settings).run(s.evaluator, s.log, starts, s.progress);
            s.progress.close();
            // The header goes out with the results: a run that fails (a judge's 401) leaves stdout empty.
            if (!format.json())
                out.printf("search %s (%s): %d layers, %d steps, %d questions, threshold %s, %s%n", s.trait.name(), direction.cliName(),
                        starts.size(), steps, s.questions.size(), num(threshold), s.judgeSummary());
            s.explainMissingScores(spec.commandLine().getErr());
            if (format.json()) printJson(out, s, result, direction);
            else printText(out, result, direction);
        }
        return 0;
    }

    private void printText(PrintWriter out, AdaptiveSearch.Result result, Direction dir) {
        var base = result.baseline().run();
        out.printf("baseline: trait %s  coherence %s%s%n", num(base.traitMean()), num(base.coherenceMean()),
                result.baseline().reused() ? "  (reused)" : "");
        for (LayerTrajectory t : result.layers()) {
            out.printf("%nlayer %d  ||v|| %s  ||h|| on questions %s%n", t.layer(), num(t.vectorNorm()), num(t.questionNorm()));
            out.printf("%5s %11s %8s %10s %8s %9s %s%n", "step", "coef", "ratio", "live ratio", "trait", "coherence", "");
            for (SearchStep st : t.steps())
                out.printf("%5d %11.5g %8s %10s %8s %9s %s%n", st.step(), st.coef(), num(st.nominalRatio()), num(st.steeredRatio()),
                        num(st.traitMean()), num(st.coherenceMean()),
                        (st.coherent() ? "coherent" : "incoherent") + (st.reused() ? ", reused" : ""));
            Optional<SearchStep> best = t.best(dir);
            if (best.isPresent())
                out.printf("best coherent: coef %.5g  ratio %s (live %s)  trait %s  coherence %s%n", best.get().coef(),
                        num(best.get().nominalRatio()), num(best.get().steeredRatio()), num(best.get().traitMean()),
                        num(best.get().coherenceMean()));
            else out.println("best coherent: none (no step reached the coherence threshold)");
        }
        out.printf("database %s%n", eval.db);
    }

    private void printJson(PrintWriter out, EvalSession s, AdaptiveSearch.Result result, Direction dir) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("trait", s.trait.name());
        o.put("direction", dir.cliName());
        o.put("judge", s.traitJudge.id());
        o.put("coherence_judge", s.coherenceJudge.id());
        o.put("threshold", threshold);
        o.put("baseline", CommandJson.run(result.baseline(), null));
        List<Map<String, Object>> layers = new ArrayList<>();
        for (LayerTrajectory t : result.layers()) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("layer", t.layer());
            l.put("vector_norm", t.vectorNorm());
            l.put("question_norm", t.questionNorm());
            List<Map<String, Object>> steps = new ArrayList<>();
            for (SearchStep st : t.steps()) steps.add(stepJson(st));
            l.put("steps", steps);
            t.best(dir).ifPresent(b -> l.put("best", stepJson(b)));
            layers.add(l);
        }
        o.put("layers", layers);
        CommandJson.print(out, o);
    }

    private static Map<String, Object> stepJson(SearchStep st) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("step", st.step());
        o.put("coef", st.coef());
        o.put("ratio", st.nominalRatio());
        o.put("run_ratio", st.ratio());
        o.put("steered_ratio", st.steeredRatio());
        o.put("live_ratio", st.steeredRatio());
        o.put("trait_mean", st.traitMean());
        o.put("coherence_mean", st.coherenceMean());
        o.put("coherent", st.coherent());
        o.put("reused", st.reused());
        o.put("run_id", st.runId());
        return o;
    }
}
