package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.report.ImportJsonl;
import dev.steer.engine.report.LawReport;
import dev.steer.engine.report.Plots;
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
                + "coherence, avg delta vs baseline, %% coherent), the coherence cliff and sweet spots per trait, the cliff "
                + "per layer; --plot writes PNG charts. Reads the results database, or runs from another tool as JSONL.",
                "Example: steer report --db steer-runs.db --plot plots"})
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

    @Option(names = "--plot", paramLabel = "DIR", description = "Also write PNG charts into DIR.")
    Path plotDir;

    @Mixin
    OutputFormat format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
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
        LawReport report = LawReport.build(points);
        List<Path> plots = plotDir == null ? List.of() : Plots.write(plotDir, points);
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
