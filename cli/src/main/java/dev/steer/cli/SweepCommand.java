package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.sweep.Candidate;
import dev.steer.engine.sweep.Sweep;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Sweep steering coefficients per layer: the unsteered baseline once, then every (layer, coef) on "
                + "every eval question, generated in large batches where each row carries its own layer and coef. "
                + "Each run records trait and coherence means, ||v||, the live ||h|| at the hooked layer (activation_norm: "
                + "the mean over the run's prompt tokens, BOS excluded, before the add) and the ratio |coef| x ||v|| / ||h||, "
                + "the same over the steered positions (steered_norm_mean, steered_ratio), and delta vs the baseline. Every "
                + "answer is stored; a rerun reuses stored runs with the same configuration (resume after a kill).",
                "--ratios converts each target ratio r to coef = r x ||h_L|| / ||v||, with ||h_L|| measured on the questions.",
                "Example: steer sweep --model DIR --trait optimism --vectors vecs --layers 6,12 --ratios 0.4,0.65,0.9,1.15 --judge openai:gpt-4o-mini (targets inside the report's buckets, not on their edges)"})
final class SweepCommand implements Callable<Integer> {
    @Mixin
    EvalOptions eval;

    @Mixin
    OutputFormat format;

    static final class Strength {
        @Option(names = "--coefs", paramLabel = "C,...", description = "Coefficients (signed), e.g. 2,4,8.")
        String coefs;

        @Option(names = "--ratios", paramLabel = "R,...", description = "Target perturbation ratios, e.g. 0.4,0.65,0.9,1.15 (inside the report's buckets, not on their 0.3/0.5/0.8/1.0/1.3 edges).")
        String ratios;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Strength strength;

    @Mixin
    ShardOption shard;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Runs per chunk = this many generation batches' worth of rows: large batches, little lost to a kill. */
    static final int BATCHES_PER_CHUNK = 4;

    @Override
    public Integer call() {
        boolean byRatio = strength.ratios != null;
        List<Double> values = byRatio ? NumberList.doubles(strength.ratios, "--ratios") : NumberList.doubles(strength.coefs, "--coefs");
        if (byRatio) for (double r : values) if (r < 0) throw new BadInputException("--ratios: " + r + " is negative; ratios are magnitudes (use --coefs for signed coefficients)");
        PrintWriter out = spec.commandLine().getOut();
        try (EvalSession s = EvalSession.open(eval, "sweep", format.json())) {
            int[] layers = s.layers.stream().mapToInt(Integer::intValue).toArray();
            double[] questionNorm = byRatio ? s.questionNorms(eval.batchSize) : null;
            List<Candidate> candidates = new ArrayList<>();
            List<Double> targets = new ArrayList<>();
            for (int i = 0; i < layers.length; i++) {
                var v = s.vectors.get(layers[i]);
                for (double x : values) {
                    double coef = byRatio ? PerturbationRatio.coefFor(x, v.norm(), questionNorm[i]) : x;
                    candidates.add(new Candidate(layers[i], v, coef));
                    targets.add(byRatio ? x : null);
                }
            }
            List<Integer> mine = shard.of(java.util.stream.IntStream.range(0, candidates.size()).boxed().toList());
            candidates = mine.stream().map(candidates::get).toList();
            targets = mine.stream().map(targets::get).toList();
            int perChunk = Math.max(1, BATCHES_PER_CHUNK * eval.batchSize / s.questions.size());
            Sweep.Result result = Sweep.run(s.evaluator, s.log, candidates, perChunk, s.progress);
            s.progress.close();
            // The header goes out with the results: a run that fails (a judge's 401) leaves stdout empty.
            if (!format.json())
                out.printf("sweep %s: %d layers x %d %s on %d questions, %s%n", s.trait.name(), layers.length, values.size(),
                        byRatio ? "ratios" : "coefs", s.questions.size(), s.judgeSummary());
            s.explainMissingScores(spec.commandLine().getErr());
            print(out, s, result, targets, layers, questionNorm);
        }
        return 0;
    }

    private void print(PrintWriter out, EvalSession s, Sweep.Result result, List<Double> targets, int[] layers, double[] questionNorm) {
        RunRecord base = result.baseline().run();
        if (format.json()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("trait", s.trait.name());
            o.put("model", s.model.source());
            o.put("judge", s.traitJudge.id());
            o.put("coherence_judge", s.coherenceJudge.id());
            o.put("questions", s.questions.size());
            o.put("baseline", CommandJson.run(result.baseline(), null));
            if (questionNorm != null) {
                Map<String, Double> norms = new LinkedHashMap<>();
                for (int i = 0; i < layers.length; i++) norms.put(Integer.toString(layers[i]), questionNorm[i]);
                o.put("question_norms", norms);
            }
            List<Map<String, Object>> runs = new ArrayList<>();
            for (int i = 0; i < result.runs().size(); i++) runs.add(CommandJson.run(result.runs().get(i), targets.get(i)));
            o.put("runs", runs);
            CommandJson.print(out, o);
            return;
        }
        out.printf("baseline: trait %s  coherence %s  n %d%s%n", num(base.traitMean()), num(base.coherenceMean()), base.n(),
                result.baseline().reused() ? "  (reused)" : "");
        out.printf("%5s %10s %8s %8s %9s %4s %9s %9s %9s %8s  %s%n", "layer", "coef", "target", "trait", "coherence", "n",
                "||v||", "live ||h||", "ratio", "delta", "");
        for (int i = 0; i < result.runs().size(); i++) {
            Sweep.Outcome oc = result.runs().get(i);
            RunRecord r = oc.run();
            out.printf("%5d %10.4g %8s %8s %9s %4d %9s %9s %9s %8s  %s%n", r.layer(), r.coef(), targets.get(i) == null ? "-" : num(targets.get(i)),
                    num(r.traitMean()), num(r.coherenceMean()), r.n(), num(r.vectorNorm()), num(r.activationNorm()),
                    num(r.ratio()), num(r.delta()), oc.reused() ? "reused" : "new");
        }
        out.printf("database %s%n", eval.db);
    }

    static String num(Double d) {
        return d == null || !Double.isFinite(d) ? "-" : String.format(java.util.Locale.ROOT, "%.4g", d);
    }
}
