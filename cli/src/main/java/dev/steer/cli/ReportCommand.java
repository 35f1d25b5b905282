package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.report.ImportJsonl;
import dev.steer.engine.report.LawReport;
import dev.steer.engine.report.PlotOptions;
import dev.steer.engine.report.Plots;
import dev.steer.engine.report.ReportSettings;
import dev.steer.engine.report.ReportJson;
import dev.steer.engine.report.ReportText;
import dev.steer.engine.report.RunPoint;
import dev.steer.engine.store.RunStore;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"The ratio-law report: steered runs bucketed by perturbation ratio |coef| x ||v|| / ||h|| (avg "
                + "coherence, avg delta vs baseline, %% coherent), the coherence cliff and sweet spots per trait with the rule "
                + "that chose them, the cliff per layer (and why it differs from the pooled cliff when it does), and the seed's "
                + "questions per trait: cliff near 1.0-1.15? 0.5-0.8 sweet spot? with n per answer. --plot writes the figures "
                + "(PNG, SVG, PDF; pooled and per trait). Reads the results database, or runs from another tool as JSONL.",
                "Examples:",
                "  steer sweep --model DIR --trait optimism --vectors vecs --layers 6,12 --ratios 0.4,0.65,0.9,1.15 --judge J",
                "    (targets inside the buckets 0.3-0.5, 0.5-0.8, 0.8-1.0, 1.0-1.3, not on their edges: a run measured a "
                + "hair off an edge would land in the wrong bucket)",
                "  steer report --db steer-runs.db --plot plots --log-x",
                "  steer report --db steer-runs.db --coherence-threshold 60 --buckets 0.25,0.5,0.75,1,1.25,1.5"})
final class ReportCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--db", paramLabel = "FILE", description = "Results database written by sweep/search. Default: " + RunStore.DEFAULT_FILE + ".")
        Path db;

        @Option(names = "--import", paramLabel = "FILE.jsonl", description = "Runs as JSONL (steer export, or another tool).")
        Path importFile;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Source source;

    @Option(names = "--trait", paramLabel = "T", description = "Only these traits (repeat for several).")
    List<String> traits;

    @Option(names = "--plot", paramLabel = "DIR", description = "Also write the figures into DIR (pooled) and DIR/{trait}/.")
    Path plotDir;

    @Mixin
    ReportOptions reporting;

    @Mixin
    OutputFormat format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        ReportSettings settings = reporting.settings();
        PlotOptions plotOptions = reporting.plotOptions(settings);
        List<RunPoint> points;
        if (source != null && source.importFile != null) {
            points = ImportJsonl.read(source.importFile);
        } else {
            Path db = source == null || source.db == null ? Path.of(RunStore.DEFAULT_FILE) : source.db;
            // Opening creates a database; a report on a file that is not there is a typo, not an empty study.
            if (!Files.exists(db)) throw new BadInputException("--db " + db + ": no such results database");
            try (RunStore store = RunStore.openForReading(db)) {
                points = RunPoint.fromRuns(store.runs());
            }
        }
        if (traits != null) points = points.stream().filter(p -> traits.contains(p.trait())).toList();
        if (points.isEmpty())
            throw new BadInputException("no steered runs to report" + (traits == null ? "" : " for --trait " + String.join(", ", traits))
                    + " (runs need a layer, norms, trait and coherence means and a baseline)");
        LawReport report = LawReport.build(points, settings);
        List<Path> plots = plotDir == null ? List.of() : Plots.write(plotDir, points, plotOptions);
        PrintWriter out = spec.commandLine().getOut();
        if (format.json()) {
            var o = ReportJson.toJson(report);
            if (!plots.isEmpty()) {
                var a = new com.google.gson.JsonArray();
                plots.forEach(p -> a.add(p.toString()));
                o.add("plots", a);
            }
            CommandJson.printCompact(out, o);
        } else {
            out.print(ReportText.render(report));
            for (Path p : plots) out.println("plot " + p);
        }
        return 0;
    }
}
