package dev.steer.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import dev.steer.engine.extract.Method;
import dev.steer.engine.judge.JudgeSpec;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.model.LayerSelection;
import dev.steer.engine.report.LawReport;
import dev.steer.engine.report.Plots;
import dev.steer.engine.report.RatioBucket;
import dev.steer.engine.report.ReportJson;
import dev.steer.engine.report.ReportSettings;
import dev.steer.engine.report.ReportText;
import dev.steer.engine.report.RunPoint;
import dev.steer.engine.search.AdaptiveSearch;
import dev.steer.engine.search.Direction;
import dev.steer.engine.search.LayerTrajectory;
import dev.steer.engine.search.SearchSettings;
import dev.steer.engine.search.SearchStep;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.store.AtomicFile;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.sweep.Candidate;
import dev.steer.engine.sweep.Evaluation;
import dev.steer.engine.sweep.Sweep;
import dev.steer.engine.sweep.SweepListener;
import dev.steer.engine.trait.TraitDataset;
import dev.steer.models.LoadedModel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

import static dev.steer.cli.SweepCommand.num;

@Command(name = "study", mixinStandardHelpOptions = true,
        description = {"The whole ratio-law study in one command. Per trait: extract steering vectors (every --methods "
                + "method) unless OUT/vectors/{trait}/ already holds them, run the adaptive search on --layers, then sweep "
                + "--ratios on the --best-layers layers whose best coherent step scored highest; then write OUT/report.md "
                + "(per trait: the bucket table, cliff, sweet spots, per-layer cliffs; across traits: cliff near 1.0-1.15? "
                + "0.5-0.8 sweet spot? with n per answer), OUT/report.json (the numbers) and OUT/figures/ (pooled and per trait).",
                "Resumable: every run goes to --db as it finishes, so a rerun after a kill continues where it stopped "
                        + "(finished runs are reused, not generated again). --shard I/N studies every N-th trait from the I-th "
                        + "(0-based); steer merge puts the shards' databases together.",
                "Example: steer study --model DIR --traits refusal,optimism,sycophancy,confidence --judge openai:gpt-4o-mini "
                        + "--layers 4-20 --out study"})
final class StudyCommand implements Callable<Integer> {
    /**
     * Inside the seed's buckets (0.0-0.3, 0.3-0.5, 0.5-0.8, 0.8-1.0, 1.0-1.3, 1.3+), never on an edge, denser around
     * the claimed cliff (1.0-1.15): a run measured a hair off an edge would otherwise land in either bucket.
     */
    static final String DEFAULT_RATIOS = "0.1,0.2,0.4,0.55,0.65,0.75,0.9,1.05,1.15,1.25,1.45,1.6";

    @Mixin
    ModelOptions model;

    @Mixin
    JudgeOptions judgeOptions;

    @Option(names = "--traits", required = true, paramLabel = "T,...",
            description = "Traits to study: bundled names (refusal, optimism, sycophancy, confidence) or trait .json files.")
    String traits;

    @Option(names = "--judge", required = true, paramLabel = "J", description = "Trait judge: openai:MODEL, onnx:DIR, self.")
    String judge;

    @Option(names = "--coherence-judge", paramLabel = "J",
            description = "Coherence judge: openai:MODEL, self, perplexity. Default: the trait judge for openai/self, perplexity for onnx.")
    String coherenceJudge;

    @Option(names = "--layers", defaultValue = "all", paramLabel = "L,...", description = "Layers to extract and search. Default: ${DEFAULT-VALUE}.")
    String layers;

    @Option(names = "--methods", defaultValue = "mean_diff,probe", paramLabel = "M[,M]",
            description = "Extraction methods; each is searched and swept. Default: ${DEFAULT-VALUE}.")
    String methods;

    @Option(names = "--best-layers", defaultValue = "2", paramLabel = "N",
            description = "How many of the searched layers the ratio sweep runs on (highest best coherent trait mean first). Default: ${DEFAULT-VALUE}.")
    int bestLayers;

    @Option(names = "--ratios", defaultValue = DEFAULT_RATIOS, paramLabel = "R,...",
            description = "Sweep target ratios, each inside a --buckets bucket (not on an edge). Default: ${DEFAULT-VALUE}.")
    String ratios;

    @Option(names = "--steps", defaultValue = "8", paramLabel = "N", description = "Search steps per layer. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--questions", paramLabel = "N", description = "Use only the first N eval questions of each trait.")
    Integer questions;

    @Option(names = "--max-new-tokens", defaultValue = "48", paramLabel = "N", description = "Answer length limit. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N", description = "Rows per generation batch. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--chat", description = "Wrap prompts and questions as one user turn with the model's chat template.")
    boolean chat;

    @Mixin
    ReportOptions reporting;

    @Option(names = "--out", defaultValue = "study", paramLabel = "DIR",
            description = "Study directory: vectors/, report.md, report.json, figures/. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--db", paramLabel = "FILE", description = "Results database. Default: OUT/steer-runs.db.")
    Path db;

    @Option(names = "--shard", paramLabel = "I/N", converter = Shard.Converter.class,
            description = "Study only every N-th trait from the I-th (0-based, e.g. $JOB_COMPLETION_INDEX/4).")
    Shard shard;

    @Spec
    CommandLine.Model.CommandSpec spec;

    /** The judges as the first session resolved them (ids with versions), for the report's header. */
    private String judges;

    /** A trait's search outcome for one method, and the layers its sweep ran on. */
    /** A trait as loaded, and as the command line named it (a bundled name or a file), for the phases that load it again. */
    private record Trait(TraitDataset data, String arg) {
        String name() {
            return data.name();
        }
    }

    /** @param runIds the runs this search and sweep made or reused: what the report is about */
    private record Studied(String trait, Method method, List<LayerTrajectory> layers, List<Integer> swept, Set<Long> runIds) {
    }

    /** An onnx judge's directory must be there before hours of generation are spent on answers it cannot score. */
    private static void requireJudgeFiles(JudgeSpec spec, String flag) {
        if (spec.kind() == JudgeSpec.Kind.ONNX && !Files.isDirectory(Path.of(spec.argument())))
            throw new BadInputException(flag + " onnx:" + spec.argument() + ": no such directory");
    }

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        // Every check that needs no model, before one loads.
        List<Method> methodList = Method.parseList(methods, "--methods");
        ReportSettings settings = reporting.settings();
        reporting.plotOptions(settings); // --plot-format checked here, before any work
        List<Double> targets = NumberList.doubles(ratios, "--ratios");
        for (double r : targets) {
            if (!(r > 0)) throw new BadInputException("--ratios: " + r + " must be > 0");
            for (double e : settings.buckets().edges())
                if (r == e) throw new BadInputException("--ratios: " + r + " lies on the bucket edge " + RatioBucket.edge(e)
                        + "; place targets inside buckets (e.g. 0.4, 0.65, 0.9, 1.15) so a run measured a hair off lands in the bucket meant");
        }
        if (bestLayers < 1) throw new BadInputException("--best-layers: must be at least 1, was " + bestLayers);
        new SearchSettings(steps, reporting.threshold, SearchSettings.GROW, SearchSettings.SHRINK, 0, SearchSettings.START_FRACTION, Direction.POSITIVE);
        requireJudgeFiles(JudgeSpec.parse(judge, "--judge"), "--judge");
        if (coherenceJudge != null) requireJudgeFiles(JudgeSpec.parse(coherenceJudge, "--coherence-judge"), "--coherence-judge");
        model.backend.check();
        List<Trait> all = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (String t : traits.split(",", -1)) {
            if (t.isBlank()) throw new BadInputException("--traits '" + traits + "': empty entry");
            TraitDataset d = TraitDataset.load(t.strip());
            if (!names.add(d.name())) throw new BadInputException("--traits: " + d.name() + " is listed twice");
            if (questions != null && (questions < 1 || questions > d.questions().size()))
                throw new BadInputException("--questions " + questions + ": trait " + d.name() + " has " + d.questions().size()
                        + " eval questions; give 1.." + d.questions().size());
            all.add(new Trait(d, t.strip()));
        }
        Shard part = shard == null ? Shard.WHOLE : shard;
        List<Trait> mine = part.of(all);
        int numLayers = LoadedModel.inspect(model.model).numLayers();
        int[] layerList = LayerSelection.parse(layers, numLayers, "--layers");
        Path dbFile = db != null ? db : out.resolve(RunStore.DEFAULT_FILE);
        // Checked and created before the model loads; kept (not closed) because the study's database may live in it.
        OutputDirectory.prepare(out, "--out", List.of("report.md", "report.json"));
        RunStore.open(dbFile).close(); // a runs database (or a new one) where --db says, before any work

        o.printf("study: %d trait%s%s (%s), layers %s, methods %s, %d search steps, sweep ratios %s, db %s%n", mine.size(),
                mine.size() == 1 ? "" : "s", part.whole() ? "" : " of " + all.size() + " (shard " + part + ")",
                String.join(", ", mine.stream().map(Trait::name).toList()), layers,
                String.join(",", methodList.stream().map(Method::label).toList()), steps, ratios, dbFile);
        o.flush();
        if (mine.isEmpty()) {
            o.printf("shard %s has no trait to study (%d traits over %d shards)%n", part, all.size(), part.count());
            return 0;
        }
        List<Studied> studied = new ArrayList<>();
        for (Trait t : mine) {
            Path vectors = out.resolve("vectors").resolve(Plots.directoryName(t.name()));
            extractUnlessPresent(o, t, vectors, methodList, layerList);
            for (Method m : methodList) studied.add(searchThenSweep(o, t, m, vectors, layerList, targets));
        }
        writeReport(o, mine.stream().map(Trait::name).toList(), dbFile, settings, studied);
        return 0;
    }

    /** Phase 1: vectors of every method at every layer, extracted by {@code steer extract} itself when any is missing. */
    private void extractUnlessPresent(PrintWriter o, Trait t, Path dir, List<Method> methodList, int[] layerList) {
        List<String> missing = new ArrayList<>();
        for (Method m : methodList)
            for (int l : layerList)
                if (!Files.isRegularFile(dir.resolve(m.label() + "_layer" + l + ".safetensors"))) missing.add(m.label() + "_layer" + l);
        if (missing.isEmpty()) {
            phase(o, t.name(), "vectors present in " + dir + ", extraction skipped");
            return;
        }
        phase(o, t.name(), "extract " + missing.size() + " vector file" + (missing.size() == 1 ? "" : "s") + " into " + dir);
        ExtractCommand extract = new ExtractCommand();
        CommandLine cl = new CommandLine(extract);
        StringWriter log = new StringWriter();
        cl.setOut(new PrintWriter(log));
        List<String> args = new ArrayList<>(List.of("--model", model.model.toString(), "--trait", t.arg(),
                "--layers", String.join(",", Arrays.stream(layerList).mapToObj(Integer::toString).toList()),
                "--method", String.join(",", methodList.stream().map(Method::label).toList()), "--out", dir.toString()));
        if (chat) args.add("--chat");
        cl.parseArgs(args.toArray(String[]::new));
        extract.modelOptions = model; // the study's backend and precision, as parsed
        extract.call();
    }

    /** Phases 2 and 3 for one method: the adaptive search on every layer, then the ratio sweep on the best ones. */
    private Studied searchThenSweep(PrintWriter o, Trait t, Method m, Path vectors, int[] layerList, List<Double> targets) {
        String tag = t.name() + " " + m.label();
        EvalOptions e = evalOptions(t, m, vectors, layerList);
        try (EvalSession s = EvalSession.open(e, tag, false)) {
            int q = s.questions.size();
            judges = s.judgeSummary();
            double[] norms = s.questionNorms(batchSize);
            List<AdaptiveSearch.LayerStart> starts = new ArrayList<>();
            for (int i = 0; i < layerList.length; i++) starts.add(new AdaptiveSearch.LayerStart(layerList[i], norms[i]));
            SearchSettings settings = new SearchSettings(steps, reporting.threshold, SearchSettings.GROW, SearchSettings.SHRINK, 0,
                    SearchSettings.START_FRACTION, Direction.POSITIVE);
            phase(o, tag, "search, " + layerList.length + " layers x " + steps + " steps on " + q + " questions, " + s.judgeSummary());
            // Baseline and every step of every layer: the bar's total is fixed now and reused runs count as done.
            s.progress.expect((1 + steps * layerList.length) * q);
            SweepListener listener = new SweepListener() {
                @Override
                public void planned(int runs, int rows) {
                    s.progress.planned(runs, rows);
                }

                @Override
                public void searchStep(int step, int total) {
                    phase(o, tag, "search step " + (step + 1) + "/" + total);
                }

                @Override
                public void reused(RunRecord run) {
                    s.progress.reused(run);
                }

                @Override
                public void stored(RunRecord run, Evaluation evaluation) {
                    s.progress.stored(run, evaluation);
                }
            };
            AdaptiveSearch.Result result = new AdaptiveSearch(settings).run(s.evaluator, s.log, starts, listener);
            s.progress.close();
            List<Integer> best = bestLayers(result.layers());
            for (LayerTrajectory lt : result.layers()) {
                Optional<SearchStep> b = lt.best(Direction.POSITIVE);
                phase(o, tag, "layer " + lt.layer() + ": " + b.map(st -> "best coherent ratio " + num(st.nominalRatio())
                        + ", trait " + num(st.traitMean()) + ", coherence " + num(st.coherenceMean())).orElse("no coherent step"));
            }

            List<Candidate> candidates = new ArrayList<>();
            for (int l : best) {
                int i = Arrays.stream(layerList).boxed().toList().indexOf(l);
                var v = s.vectors.get(l);
                for (double r : targets) candidates.add(new Candidate(l, v, PerturbationRatio.coefFor(r, v.norm(), norms[i])));
            }
            phase(o, tag, "sweep, layers " + best + " x " + targets.size() + " ratios");
            int perChunk = Math.max(1, SweepCommand.BATCHES_PER_CHUNK * batchSize / q);
            Sweep.Result swept = Sweep.run(s.evaluator, s.log, candidates, perChunk, s.progress);
            s.progress.close();
            long reused = swept.runs().stream().filter(Sweep.Outcome::reused).count();
            phase(o, tag, "sweep done, " + swept.runs().size() + " runs (" + reused + " reused)");
            Set<Long> ids = new HashSet<>();
            ids.add(result.baseline().run().id());
            result.layers().forEach(lt -> lt.steps().forEach(st -> ids.add(st.runId())));
            swept.runs().forEach(oc -> ids.add(oc.run().id()));
            return new Studied(t.name(), m, result.layers(), best, ids);
        }
    }

    /**
     * The layers to sweep: those with a coherent search step first, by their best coherent trait mean (highest
     * first), then the rest by their highest trait mean; ties to the lower layer.
     */
    private List<Integer> bestLayers(List<LayerTrajectory> ls) {
        Comparator<LayerTrajectory> order = Comparator
                .comparing((LayerTrajectory lt) -> lt.best(Direction.POSITIVE).isEmpty())
                .thenComparing(lt -> -lt.best(Direction.POSITIVE).map(SearchStep::traitMean)
                        .orElse(lt.steps().stream().map(SearchStep::traitMean).filter(x -> x != null).max(Double::compare).orElse(Double.NEGATIVE_INFINITY)))
                .thenComparing(LayerTrajectory::layer);
        return ls.stream().sorted(order).limit(bestLayers).map(LayerTrajectory::layer).sorted().toList();
    }

    private EvalOptions evalOptions(Trait t, Method m, Path vectors, int[] layerList) {
        EvalOptions e = new EvalOptions();
        e.model = model;
        e.judgeOptions = judgeOptions;
        e.trait = t.arg();
        e.vectors = vectors;
        e.layers = String.join(",", Arrays.stream(layerList).mapToObj(Integer::toString).toList());
        e.method = m.label();
        e.judge = judge;
        e.coherenceJudge = coherenceJudge;
        e.maxNewTokens = maxNewTokens;
        e.positions = Positions.ALL;
        e.batchSize = batchSize;
        e.questions = questions;
        e.chat = chat;
        e.temperature = 0;
        e.seed = 0;
        e.db = db != null ? db : out.resolve(RunStore.DEFAULT_FILE);
        return e;
    }

    /** Phase 4: report.md, report.json and figures/ from every stored run of the studied traits. */
    private void writeReport(PrintWriter o, List<String> traitNames, Path dbFile, ReportSettings settings, List<Studied> studied) {
        // This study's runs only: the database may hold other studies' (another model, other answer lengths).
        Set<Long> ids = new HashSet<>();
        studied.forEach(st -> ids.addAll(st.runIds()));
        List<RunPoint> points;
        try (RunStore store = RunStore.open(dbFile)) {
            points = RunPoint.fromRuns(store.runs().stream().filter(r -> ids.contains(r.id())).toList());
        }
        if (points.isEmpty()) throw new BadInputException("--traits: no steered run with a ratio was stored; nothing to report");
        LawReport report = LawReport.build(points, settings);
        Path figures = out.resolve("figures");
        List<Path> written = Plots.write(figures, points, reporting.plotOptions(settings));

        StringBuilder md = new StringBuilder();
        md.append("# Ratio-law study: ").append(String.join(", ", traitNames)).append("\n\n");
        md.append("Model `").append(model.model).append("`, ").append(judges == null ? "judge " + judge : judges).append(", ").append(steps).append(" search steps, ")
                .append(maxNewTokens).append(" new tokens per answer, sweep ratios ").append(ratios).append(", database `")
                .append(dbFile).append("`.\n\n");
        md.append("## Search: the layers swept\n\n");
        md.append("| Trait | Method | Layer | Best coherent ratio | Trait mean | Coherence | Swept |\n");
        md.append("|---|---|---:|---:|---:|---:|---|\n");
        for (Studied st : studied)
            for (LayerTrajectory lt : st.layers()) {
                Optional<SearchStep> b = lt.best(Direction.POSITIVE);
                md.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %s |%n", st.trait(), st.method().label(),
                        lt.layer(), b.map(x -> num(x.nominalRatio())).orElse("none"), b.map(x -> num(x.traitMean())).orElse("-"),
                        b.map(x -> num(x.coherenceMean())).orElse("-"), st.swept().contains(lt.layer()) ? "yes" : ""));
            }
        md.append("\n## The ratio law\n\n").append(ReportText.render(report, true)).append("\n## Figures\n\n");
        for (Path p : written)
            if (p.toString().endsWith(".png")) {
                String rel = out.relativize(p).toString();
                md.append("![").append(rel).append("](").append(rel).append(")\n");
            }
        AtomicFile.write(out.resolve("report.md"), md.toString().getBytes(StandardCharsets.UTF_8));

        JsonObject json = ReportJson.toJson(report);
        JsonArray search = new JsonArray();
        for (Studied st : studied)
            for (LayerTrajectory lt : st.layers()) {
                JsonObject l = new JsonObject();
                l.addProperty("trait", st.trait());
                l.addProperty("method", st.method().label());
                l.addProperty("layer", lt.layer());
                l.addProperty("swept", st.swept().contains(lt.layer()));
                lt.best(Direction.POSITIVE).ifPresent(b -> {
                    l.addProperty("best_ratio", b.nominalRatio());
                    l.addProperty("best_coef", b.coef());
                    l.addProperty("best_trait_mean", b.traitMean());
                    l.addProperty("best_coherence_mean", b.coherenceMean());
                });
                search.add(l);
            }
        json.add("search", search);
        AtomicFile.write(out.resolve("report.json"),
                new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create().toJson(json).getBytes(StandardCharsets.UTF_8));
        o.printf("%n%s", ReportText.claims(report.claims()));
        o.printf("report %s%nreport %s%nfigures %s (%d files)%n", out.resolve("report.md"), out.resolve("report.json"), figures, written.size());
    }

    private static void phase(PrintWriter o, String tag, String what) {
        o.println(tag + ": " + what);
        o.flush();
    }
}
